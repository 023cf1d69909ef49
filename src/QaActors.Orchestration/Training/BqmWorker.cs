using Akka.Actor;
using Akka.Routing;

namespace QaActors.Orchestration.Training;

/// <summary>
/// Builds the per-example problems of a chunk of a batch (one batched W1·x for the chunk) off the actor
/// thread. ReceiveAsync keeps one build per routee at a time, so the pool size bounds the CPU used.
/// </summary>
public sealed class BqmWorker : ReceiveActor
{
    public BqmWorker()
    {
        ReceiveAsync<BuildProblems>(async m =>
        {
            var sender = Sender;
            try
            {
                var problems = await Task.Run(() => m.Procedure.BuildProblems(m.State, m.Step, m.BatchIndices, m.Offset, m.Count)).ConfigureAwait(false);
                if (problems.Length != m.Count)
                    throw new InvalidOperationException($"the procedure built {problems.Length} problems for {m.Count} examples");
                sender.Tell(new ProblemsBuilt(m.Offset, problems));
            }
            catch (Exception e)
            {
                sender.Tell(new Status.Failure(e));
            }
        });
    }

    public static Props Pool(int size) => Props.Create(() => new BqmWorker()).WithRouter(new SmallestMailboxPool(size));
}
