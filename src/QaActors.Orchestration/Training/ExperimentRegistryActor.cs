using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Training;

public sealed record RegisterExperiment(ExperimentRegistered Entry) : IQaMessage;
public sealed record ListRegisteredExperiments : IQaMessage;
public sealed record RegisteredExperiments(ImmutableArray<ExperimentRegistered> Entries) : IQaMessage;

/// <summary>The persistent list of experiment ids (a cluster singleton), for `qa experiment list`.</summary>
public sealed class ExperimentRegistryActor : ReceivePersistentActor
{
    private ImmutableArray<ExperimentRegistered> _entries = ImmutableArray<ExperimentRegistered>.Empty;

    public override string PersistenceId => "qa-experiment-registry";

    public static Props Props() => Akka.Actor.Props.Create(() => new ExperimentRegistryActor());

    public ExperimentRegistryActor()
    {
        Recover<SnapshotOffer>(o => _entries = ((RegistrySnapshot)o.Snapshot).Experiments);
        Recover<ExperimentRegistered>(e => _entries = _entries.Add(e));
        Command<RegisterExperiment>(r =>
        {
            var sender = Sender;
            if (_entries.Any(e => e.ExperimentId == r.Entry.ExperimentId)) { sender.Tell(new Status.Success(null)); return; }
            Persist(r.Entry, e =>
            {
                _entries = _entries.Add(e);
                if (LastSequenceNr % 100 == 0) SaveSnapshot(new RegistrySnapshot(_entries));
                sender.Tell(new Status.Success(null));
            });
        });
        Command<StopSingleton>(_ => Context.Stop(Self));
        Command<ListRegisteredExperiments>(_ => Sender.Tell(new RegisteredExperiments(_entries)));
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(_ => { });
    }
}
