using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Users;

// Every message carries a token's hash, never a token: the text stays on the node that made or received it.

/// <summary>Adds a user whose token hashes to <paramref name="TokenHash"/> (made by the caller: <see cref="UserRegistryClient.AddUserAsync"/>).</summary>
public sealed record AddUser(string Name, bool Admin, double Weight, TokenHash TokenHash) : IQaMessage;

public sealed record UserAdded(UserInfo User) : IQaMessage;

public sealed record ListUsers : IQaMessage
{
    public static readonly ListUsers Instance = new();
}

public sealed record UserList(ImmutableArray<UserInfo> Users) : IQaMessage;

public sealed record RevokeUser(string Name) : IQaMessage;

public sealed record UserRevokedReply(UserInfo User) : IQaMessage;

public sealed record Authenticate(TokenHash TokenHash) : IQaMessage;

public sealed record AuthenticatedUser(string Name, bool Admin, double Weight) : IQaMessage;

public enum AuthenticationFailure
{
    /// <summary>Not a QaActors token at all (decided by the caller, never reaches the registry).</summary>
    Malformed,
    Unknown,
    Revoked,
    /// <summary>The registry cannot decide (its journal is damaged): a server error, not the client's.</summary>
    Unavailable,
}

/// <summary>
/// The token does not authenticate. An HTTP API answers Malformed, Unknown and Revoked alike (401), so a client
/// learns nothing about which tokens once existed; <paramref name="Message"/> is for the node's log.
/// </summary>
public sealed record AuthenticationFailed(AuthenticationFailure Reason, string Message) : IQaMessage;

/// <summary>Creates the first admin, named <see cref="UserRegistryActor.FirstAdminName"/>, with this token hash, only if the registry has no user at all.</summary>
public sealed record EnsureAdmin(TokenHash TokenHash) : IQaMessage;

/// <summary><paramref name="Created"/> false: some user already existed and nothing changed.</summary>
public sealed record AdminEnsured(bool Created) : IQaMessage;

/// <summary>A user as listed. <paramref name="TokenId"/> is the token hash's id, as the node's log lines name tokens.</summary>
public sealed record UserInfo(string Name, bool Admin, double Weight, DateTimeOffset Created, DateTimeOffset? Revoked, string TokenId) : IQaMessage
{
    public bool Active => Revoked is null;
}

public enum UserRejection
{
    InvalidName,
    InvalidWeight,
    AlreadyExists,
    NotFound,
    /// <summary>Revoking the user would leave no active admin.</summary>
    LastAdmin,
    /// <summary>Another user already has this token (only a caller that reuses a token can cause it).</summary>
    DuplicateToken,
    /// <summary>The registry's journal is damaged.</summary>
    Unavailable,
}

/// <summary>A user command that changed nothing, and why (one sentence naming the input and the fix).</summary>
public sealed record UserRequestRejected(UserRejection Reason, string Message) : IQaMessage;

/// <summary>
/// The persistent registry of API users (a cluster singleton): name, admin flag, fair-share weight and the SHA-256 of
/// the user's token. It never receives a token, only hashes, so none can reach its journal, its log or a message
/// between nodes. Each change is persisted before it is acknowledged; every <see cref="SnapshotEvery"/> events the
/// registry is snapshotted and the events and snapshots before it are deleted, as the quota ledger does. A damaged
/// journal record stops recovery there: the registry then authenticates nobody and changes nothing, naming the record
/// (fail closed). Run under <see cref="SupervisedProps"/>, a failed write restarts it.
/// </summary>
public sealed class UserRegistryActor : ReceivePersistentActor
{
    public const string DefaultPersistenceId = "qa-users";
    public const string FirstAdminName = "admin";
    public const int SnapshotEvery = 100;

    private readonly SortedDictionary<string, UserState> _users = new(StringComparer.Ordinal);
    private readonly int _snapshotEvery;
    private readonly TimeProvider _clock;
    private string? _damage;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public override string PersistenceId { get; }

    public static Props Props(string persistenceId = DefaultPersistenceId, int snapshotEvery = SnapshotEvery, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new UserRegistryActor(persistenceId, snapshotEvery, clock));

    /// <summary>The registry under <see cref="Supervision.RestartOnStop"/>, as the node runs it.</summary>
    public static Props SupervisedProps(string persistenceId = DefaultPersistenceId, int snapshotEvery = SnapshotEvery, TimeProvider? clock = null) =>
        Supervision.RestartOnStop(Props(persistenceId, snapshotEvery, clock), "users");

    public UserRegistryActor(string persistenceId = DefaultPersistenceId, int snapshotEvery = SnapshotEvery, TimeProvider? clock = null)
    {
        if (snapshotEvery < 1) throw new ArgumentOutOfRangeException(nameof(snapshotEvery), snapshotEvery, "must be at least 1");
        PersistenceId = persistenceId;
        _snapshotEvery = snapshotEvery;
        _clock = clock ?? TimeProvider.System;

        // After a damaged record nothing more is applied (registered first, so it sees every recovery message).
        Recover<object>(_ => _damage is not null, _ => { });
        Recover<DamagedRecord>(d => _damage = Damage(d, "event"));
        Recover<SnapshotOffer>(o => o.Snapshot is DamagedRecord, o => _damage = Damage((DamagedRecord)o.Snapshot, "snapshot"));
        Recover<SnapshotOffer>(o => ApplySnapshot((UserRegistrySnapshot)o.Snapshot));
        Recover<UserCreated>(Apply);
        Recover<UserRevoked>(Apply);

        Command<Authenticate>(_ => _damage is not null, _ => Sender.Tell(new AuthenticationFailed(AuthenticationFailure.Unavailable, _damage!)));
        Command<object>(m => _damage is not null && m is AddUser or ListUsers or RevokeUser or EnsureAdmin,
            _ => Sender.Tell(new UserRequestRejected(UserRejection.Unavailable, _damage!)));
        Command<AddUser>(OnAdd);
        Command<EnsureAdmin>(OnEnsureAdmin);
        Command<RevokeUser>(OnRevoke);
        Command<ListUsers>(_ => Sender.Tell(new UserList(_users.Values.Select(Info).ToImmutableArray())));
        Command<Authenticate>(OnAuthenticate);
        Command<StopSingleton>(_ => Context.Stop(Self));
        Command<SaveSnapshotSuccess>(s =>
        {
            // The snapshot holds every user, so the events and snapshots before it go.
            this.PruneBefore(s.Metadata);
        });
        Command<SaveSnapshotFailure>(f => _log.Warning("user registry snapshot failed (events are kept): {0}", f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("deleting the user registry's old events failed: {0}", f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("deleting the user registry's old snapshots failed: {0}", f.Cause.Message));
    }

    private void OnAdd(AddUser a)
    {
        var sender = Sender;
        if (UserRules.NameProblem(a.Name) is { } nameProblem) { sender.Tell(new UserRequestRejected(UserRejection.InvalidName, nameProblem)); return; }
        if (UserRules.WeightProblem(a.Weight) is { } weightProblem) { sender.Tell(new UserRequestRejected(UserRejection.InvalidWeight, weightProblem)); return; }
        if (_users.TryGetValue(a.Name, out var existing) && existing.Revoked is null)
        {
            sender.Tell(new UserRequestRejected(UserRejection.AlreadyExists,
                $"user '{a.Name}' exists; to give it a new token, revoke it first (`qa user revoke {a.Name}`), then add it again"));
            return;
        }
        if (OwnerOf(a.TokenHash) is not null)
        {
            sender.Tell(new UserRequestRejected(UserRejection.DuplicateToken, $"another user already has {a.TokenHash}; generate a new token for each user"));
            return;
        }
        Persist(new UserCreated(a.Name, a.Admin, a.Weight, a.TokenHash, _clock.GetUtcNow()), e =>
        {
            Apply(e);
            _log.Info("user {0} {1} ({2}, weight {3}, {4})", e.Name, existing is null ? "added" : "given a new token", e.Admin ? "admin" : "user", e.Weight, e.TokenHash);
            MaybeSnapshot();
            sender.Tell(new UserAdded(Info(_users[e.Name])));
        });
    }

    private void OnEnsureAdmin(EnsureAdmin m)
    {
        var sender = Sender;
        // Any user, even a revoked one, means the registry was set up: never create a second first admin.
        if (_users.Count > 0) { sender.Tell(new AdminEnsured(false)); return; }
        Persist(new UserCreated(FirstAdminName, true, UserRules.DefaultWeight, m.TokenHash, _clock.GetUtcNow()), e =>
        {
            Apply(e);
            _log.Info("first admin {0} created ({1})", e.Name, e.TokenHash);
            MaybeSnapshot();
            sender.Tell(new AdminEnsured(true));
        });
    }

    private void OnRevoke(RevokeUser r)
    {
        var sender = Sender;
        if (UserRules.NameProblem(r.Name) is { } nameProblem) { sender.Tell(new UserRequestRejected(UserRejection.InvalidName, nameProblem)); return; }
        if (!_users.TryGetValue(r.Name, out var user))
        {
            sender.Tell(new UserRequestRejected(UserRejection.NotFound, $"there is no user '{r.Name}' (`qa user list` shows them)"));
            return;
        }
        if (user.Revoked is not null) { sender.Tell(new UserRevokedReply(Info(user))); return; } // already: nothing to do
        if (user.Admin && !_users.Values.Any(u => u.Admin && u.Revoked is null && u.Name != user.Name))
        {
            sender.Tell(new UserRequestRejected(UserRejection.LastAdmin,
                $"'{r.Name}' is the last active admin; add another admin first (`qa user add NAME --admin`), or nobody could manage users"));
            return;
        }
        Persist(new UserRevoked(r.Name, _clock.GetUtcNow()), e =>
        {
            Apply(e);
            _log.Info("user {0} revoked ({1})", e.Name, _users[e.Name].TokenHash);
            MaybeSnapshot();
            sender.Tell(new UserRevokedReply(Info(_users[e.Name])));
        });
    }

    private void OnAuthenticate(Authenticate a)
    {
        var user = OwnerOf(a.TokenHash);
        if (user is null) Sender.Tell(new AuthenticationFailed(AuthenticationFailure.Unknown, $"{a.TokenHash} belongs to no user"));
        else if (user.Revoked is not null)
        {
            _log.Warning("revoked {0} of user {1} was presented", a.TokenHash, user.Name);
            Sender.Tell(new AuthenticationFailed(AuthenticationFailure.Revoked, $"{a.TokenHash} of user '{user.Name}' was revoked"));
        }
        else Sender.Tell(new AuthenticatedUser(user.Name, user.Admin, user.Weight));
    }

    /// <summary>
    /// The user whose hash matches, compared with every user in constant time and without stopping at a match, so the
    /// answer's timing depends only on the number of users.
    /// </summary>
    private UserState? OwnerOf(TokenHash hash)
    {
        UserState? found = null;
        foreach (var u in _users.Values)
            if (u.TokenHash.Matches(hash)) found = u;
        return found;
    }

    private static UserInfo Info(UserState u) => new(u.Name, u.Admin, u.Weight, u.Created, u.Revoked, u.TokenHash.Id);

    private void Apply(UserCreated e) => _users[e.Name] = new UserState(e.Name, e.Admin, e.Weight, e.TokenHash, e.At, null);

    private void Apply(UserRevoked e)
    {
        if (_users.TryGetValue(e.Name, out var u)) _users[e.Name] = u with { Revoked = e.At };
    }

    private void ApplySnapshot(UserRegistrySnapshot s)
    {
        _users.Clear();
        foreach (var u in s.Users) _users[u.Name] = u;
    }

    private void MaybeSnapshot()
    {
        if (LastSequenceNr % _snapshotEvery == 0) SaveSnapshot(new UserRegistrySnapshot(_users.Values.ToImmutableArray()));
    }

    private string Damage(DamagedRecord d, string what)
    {
        string message = $"the user registry's journal ({PersistenceId}) has a damaged {what} ({d.Manifest}: {d.Problem}); " +
            "it authenticates nobody until the journal is restored from a backup";
        _log.Error(message);
        return message;
    }
}
