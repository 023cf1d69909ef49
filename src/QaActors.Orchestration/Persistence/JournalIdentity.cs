using Akka.Actor;
using Akka.Persistence;

namespace QaActors.Orchestration.Persistence;

/// <summary>
/// Which journal a data dir belongs to. The first node to use an empty journal writes a journal-identity record
/// into it (a random id) and the same id into a marker file in its data dir (<see cref="MarkerFileName"/> for the data
/// dir's own qa.db); at every later start the two must agree. Without this an emptied or replaced qa.db would silently start a new, empty
/// journal and every experiment would seem to have vanished (or another journal's experiments would appear).
/// </summary>
public static class JournalIdentity
{
    public const string PersistenceId = "qa-journal-identity";
    public const string MarkerFileName = "journal-id";

    /// <summary>What a start does with the journal, given its identity record and the data dir's marker.</summary>
    public abstract record Decision
    {
        private Decision() { }

        /// <summary>Both agree: use the journal.</summary>
        public sealed record Use(string JournalId) : Decision;

        /// <summary>The journal has an identity but the data dir no marker (a first start after this check existed, or a moved data dir): write the marker.</summary>
        public sealed record Adopt(string JournalId) : Decision;

        /// <summary>Neither has one: a new journal (or one from before identities existed); write both.</summary>
        public sealed record Create(string JournalId) : Decision;

        /// <summary>They disagree: refuse to start.</summary>
        public sealed record Refuse(string Reason) : Decision;
    }

    /// <summary>The pure rule (see the class summary); <paramref name="journalName"/> and <paramref name="markerPath"/> only word the refusal.</summary>
    public static Decision Decide(string? journalId, string? markerId, string journalName, string markerPath, Func<string> newId)
    {
        if (journalId is not null && markerId is not null)
        {
            return journalId == markerId ? new Decision.Use(journalId)
                : new Decision.Refuse($"{journalName} is journal {journalId}, but this data dir belongs to journal {markerId} ({markerPath}): " +
                    "it is not the journal this node created. Put the node's own journal back, or delete " + markerPath + " to adopt this one");
        }
        if (journalId is not null) return new Decision.Adopt(journalId);
        if (markerId is not null)
        {
            return new Decision.Refuse($"{journalName} has no journal identity, but this data dir belongs to journal {markerId} ({markerPath}): " +
                "the journal was emptied or replaced, and using it would start over with no experiments. Restore it from a backup, " +
                "or delete " + markerPath + " to start a new, empty journal on purpose");
        }
        return new Decision.Create(newId());
    }

    /// <summary>The marker's id, or null when the data dir has none.</summary>
    public static string? ReadMarker(string markerPath)
    {
        if (!File.Exists(markerPath)) return null;
        string id = File.ReadAllText(markerPath).Trim();
        if (id.Length == 0 || id.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '-')))
            throw new InvalidOperationException($"{markerPath} does not hold a journal id; restore it or delete it so the journal's own id is written again");
        return id;
    }

    /// <summary>Writes the marker atomically (a crash leaves the old one or the new one, never half of one).</summary>
    public static void WriteMarker(string markerPath, string journalId)
    {
        string tmp = markerPath + ".tmp";
        File.WriteAllText(tmp, journalId + "\n");
        File.Move(tmp, markerPath, overwrite: true);
    }

    /// <summary>
    /// Checks the journal against the data dir's marker <paramref name="markerPath"/> through <paramref name="system"/> (whose persistence is the
    /// node's journal) and writes what is missing; throws <see cref="JournalRefusedException"/> when they disagree.
    /// </summary>
    public static async Task<string> EnsureAsync(ActorSystem system, string markerPath, string journalName, TimeSpan timeout)
    {
        try
        {
            return await EnsureOnceAsync(system, markerPath, journalName, timeout).ConfigureAwait(false);
        }
        catch (IdentityWriteFailedException)
        {
            // Another node (or `qa` process) on the same new journal wrote its identity first: read that one.
            return await EnsureOnceAsync(system, markerPath, journalName, timeout).ConfigureAwait(false);
        }
    }

    private static async Task<string> EnsureOnceAsync(ActorSystem system, string markerPath, string journalName, TimeSpan timeout)
    {
        var actor = system.ActorOf(Props.Create(() => new JournalIdentityActor())); // unnamed: a stopped one may still hold its name
        try
        {
            var state = await actor.Ask<JournalIdentityActor.Current>(JournalIdentityActor.Get.Instance, timeout).ConfigureAwait(false);
            if (state.Damage is not null)
                throw new JournalRefusedException($"{journalName}: its journal-identity record is damaged ({state.Damage}); restore the journal from a backup");
            var decision = Decide(state.JournalId, ReadMarker(markerPath), journalName, markerPath, () => Guid.NewGuid().ToString("D"));
            switch (decision)
            {
                case Decision.Use u:
                    return u.JournalId;
                case Decision.Adopt a:
                    WriteMarker(markerPath, a.JournalId);
                    return a.JournalId;
                case Decision.Create c:
                    try
                    {
                        await actor.Ask<JournalIdentityActor.Current>(new JournalIdentityActor.Create(c.JournalId), timeout).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not AskTimeoutException)
                    {
                        throw new IdentityWriteFailedException(e); // the actor's Status.Failure: the write failed
                    }
                    WriteMarker(markerPath, c.JournalId);
                    return c.JournalId;
                case Decision.Refuse r:
                    throw new JournalRefusedException(r.Reason);
                default:
                    throw new InvalidOperationException($"unexpected journal decision {decision}");
            }
        }
        finally
        {
            system.Stop(actor);
        }
    }
}

/// <summary>The journal is not the one this data dir's node created; the message says which files and what to do.</summary>
public sealed class JournalRefusedException(string message) : Exception(message);

internal sealed class IdentityWriteFailedException(Exception cause) : Exception($"writing the journal identity failed: {cause.Message}", cause);

/// <summary>Holds the journal-identity record: tells what it is, writes it once.</summary>
internal sealed class JournalIdentityActor : ReceivePersistentActor
{
    public sealed class Get
    {
        public static readonly Get Instance = new();
        private Get() { }
    }

    public sealed record Create(string JournalId);

    public sealed record Current(string? JournalId, string? Damage);

    private string? _id;
    private string? _damage;
    private IActorRef? _creator;

    public override string PersistenceId => JournalIdentity.PersistenceId;

    public JournalIdentityActor()
    {
        Recover<JournalIdentityCreated>(e => _id ??= e.JournalId);
        Recover<DamagedRecord>(d => _damage ??= d.Problem);
        Command<Get>(_ => Sender.Tell(new Current(_id, _damage)));
        Command<Create>(c =>
        {
            var sender = Sender;
            if (_id is not null) { sender.Tell(new Current(_id, _damage)); return; }
            _creator = sender;
            Persist(new JournalIdentityCreated(c.JournalId, DateTimeOffset.UtcNow), e =>
            {
                _id = e.JournalId;
                _creator = null;
                sender.Tell(new Current(_id, _damage));
            });
        });
    }

    /// <summary>Tells the waiting start why (two writers raced for a new journal), instead of letting its ask time out.</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _creator?.Tell(new Status.Failure(cause));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _creator?.Tell(new Status.Failure(cause));
        base.OnPersistRejected(cause, @event, sequenceNr);
        Context.Stop(Self);
    }
}
