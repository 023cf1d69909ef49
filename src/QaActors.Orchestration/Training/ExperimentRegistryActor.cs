using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Training;

public sealed record RegisterExperiment(ExperimentRegistered Entry) : IQaMessage;
public sealed record ListRegisteredExperiments : IQaMessage;
public sealed record RegisteredExperiments(ImmutableArray<ExperimentRegistered> Entries) : IQaMessage;

/// <summary>
/// The persistent list of experiment ids (a cluster singleton), for `qa experiment list`. Every
/// <see cref="SnapshotEvery"/> registrations the list is snapshotted and the events and snapshots before it are
/// deleted. A damaged journal record stops recovery there and every request is refused, naming it. Run under
/// <see cref="SupervisedProps"/>, a failed write restarts it.
/// </summary>
public sealed class ExperimentRegistryActor : ReceivePersistentActor
{
    public const string DefaultPersistenceId = "qa-experiment-registry";
    public const int SnapshotEvery = 100;

    private ImmutableArray<ExperimentRegistered> _entries = ImmutableArray<ExperimentRegistered>.Empty;
    private readonly int _snapshotEvery;
    private string? _damage;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public override string PersistenceId { get; }

    public static Props Props(string persistenceId = DefaultPersistenceId, int snapshotEvery = SnapshotEvery) =>
        Akka.Actor.Props.Create(() => new ExperimentRegistryActor(persistenceId, snapshotEvery));

    /// <summary>The registry under <see cref="Supervision.RestartOnStop"/>, as the node runs it.</summary>
    public static Props SupervisedProps(string persistenceId = DefaultPersistenceId, int snapshotEvery = SnapshotEvery) =>
        Supervision.RestartOnStop(Props(persistenceId, snapshotEvery), "registry");

    public ExperimentRegistryActor(string persistenceId = DefaultPersistenceId, int snapshotEvery = SnapshotEvery)
    {
        if (snapshotEvery < 1) throw new ArgumentOutOfRangeException(nameof(snapshotEvery), snapshotEvery, "must be at least 1");
        PersistenceId = persistenceId;
        _snapshotEvery = snapshotEvery;

        Recover<object>(_ => _damage is not null, _ => { });
        Recover<DamagedRecord>(d => _damage = Damage(d, "event"));
        Recover<SnapshotOffer>(o => o.Snapshot is DamagedRecord, o => _damage = Damage((DamagedRecord)o.Snapshot, "snapshot"));
        Recover<SnapshotOffer>(o => _entries = ((RegistrySnapshot)o.Snapshot).Experiments);
        Recover<ExperimentRegistered>(e => _entries = _entries.Add(e));
        Command<object>(m => _damage is not null && m is RegisterExperiment or ListRegisteredExperiments,
            _ => Sender.Tell(new Status.Failure(new InvalidDataException(_damage))));
        Command<RegisterExperiment>(r =>
        {
            var sender = Sender;
            if (_entries.Any(e => e.ExperimentId == r.Entry.ExperimentId)) { sender.Tell(new Status.Success(null)); return; }
            Persist(r.Entry, e =>
            {
                _entries = _entries.Add(e);
                if (LastSequenceNr % _snapshotEvery == 0) SaveSnapshot(new RegistrySnapshot(_entries));
                sender.Tell(new Status.Success(null));
            });
        });
        Command<StopSingleton>(_ => Context.Stop(Self));
        Command<ListRegisteredExperiments>(_ => Sender.Tell(new RegisteredExperiments(_entries)));
        Command<SaveSnapshotSuccess>(s =>
        {
            this.PruneBefore(s.Metadata);
        });
        Command<SaveSnapshotFailure>(f => _log.Warning("experiment registry snapshot failed (events are kept): {0}", f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("deleting the experiment registry's old events failed: {0}", f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("deleting the experiment registry's old snapshots failed: {0}", f.Cause.Message));
    }

    private string Damage(DamagedRecord d, string what)
    {
        string message = $"the experiment registry's journal ({PersistenceId}) has a damaged {what} ({d.Manifest}: {d.Problem}); " +
            "restore the journal from a backup";
        _log.Error(message);
        return message;
    }
}
