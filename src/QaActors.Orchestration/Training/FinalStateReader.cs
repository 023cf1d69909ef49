using Akka.Actor;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Training;

/// <summary>
/// Reads the state after an experiment's last persisted step from the journal, on the caller's own node: a
/// short-lived <see cref="AggregatorActor"/> recovers the experiment (the final snapshot, which the trainer has
/// stored before it reports completion, plus any events after it) and answers one <see cref="GetFinalState"/>.
/// The reader only recovers, it never writes, so it may run beside the experiment's own aggregator wherever that is.
/// This is how the model reaches whoever needs it without a megabyte message crossing nodes
/// (docs/architecture.md, "Messages").
/// </summary>
public static class FinalStateReader
{
    public static async Task<object> ReadAsync(IActorRefFactory actors, string experimentId, Func<ExperimentSpec, ITrainingProcedure> procedureFor,
        TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var reader = actors.ActorOf(AggregatorActor.Props(experimentId, procedureFor, int.MaxValue));
        try
        {
            var state = await reader.Ask<FinalState>(new GetFinalState(), timeout, cancellationToken).ConfigureAwait(false);
            return state.State;
        }
        finally
        {
            reader.Tell(PoisonPill.Instance);
        }
    }
}
