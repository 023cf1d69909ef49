using Akka.Actor;
using Akka.Routing;

namespace QaActors.Orchestration.Training;

/// <summary>
/// Builds the per-example problems of a chunk of a batch (one batched W1·x for the chunk). The routees run on the
/// <see cref="CpuDispatcher"/>'s dedicated threads and build right in the handler, so the work never occupies the
/// thread pool the default dispatcher (heartbeats, trainers) runs on; one build per routee at a time, so the pool size
/// bounds the CPU used.
/// </summary>
public sealed class BqmWorker : ReceiveActor
{
    public BqmWorker()
    {
        Receive<BuildProblems>(m =>
        {
            try
            {
                var problems = m.Procedure.BuildProblems(m.State, m.Step, m.BatchIndices, m.Offset, m.Count);
                if (problems.Length != m.Count)
                    throw new InvalidOperationException($"the procedure built {problems.Length} problems for {m.Count} examples");
                Sender.Tell(new ProblemsBuilt(m.Offset, problems));
            }
            catch (Exception e)
            {
                Sender.Tell(new Status.Failure(e));
            }
        });
    }

    public static Props Pool(int size) => Props.Create(() => new BqmWorker()).WithDispatcher(CpuDispatcher.Id).WithRouter(new SmallestMailboxPool(size));
}
