using Akka.Actor;
using Akka.Routing;
using QaActors.Sampling;

namespace QaActors.Orchestration.Gateway;

/// <summary>A classical sampling job: from a trainer directly, or a QPU job diverted by the gateway.</summary>
public sealed record ClassicalJob(SampleJob Job, string? FallbackReason, IActorRef ReplyTo) : IQaMessage;

/// <summary>
/// One routee of a classical sampler pool (gibbs, anneal, exact). The routees run on the
/// <see cref="CpuDispatcher"/>'s dedicated threads and sample right there (a classical sampler computes
/// before its task returns), so sampling never occupies the thread pool that heartbeats need; ReceiveAsync
/// suspends only this routee's mailbox while a sampler that does await, so a pool of n routees samples at
/// most n problems at once. Failures go back to the requester as <see cref="SampleFailed"/> with the job's id.
/// </summary>
public sealed class SamplerWorker : ReceiveActor
{
    private readonly Func<ClassicalSettings, ISampler> _factory;
    private readonly Dictionary<ClassicalSettings, ISampler> _samplers = new();

    public SamplerWorker(Func<ClassicalSettings, ISampler> factory)
    {
        _factory = factory;
        ReceiveAsync<SampleJob>(job => Run(SamplerFor(job), job, null, Sender));
        ReceiveAsync<ClassicalJob>(c => Run(SamplerFor(c.Job), c.Job, c.FallbackReason, c.ReplyTo));
    }

    /// <summary>One sampler per distinct settings, built once: experiments with other sweeps share the pool.</summary>
    private ISampler SamplerFor(SampleJob job)
    {
        var settings = job.Classical ?? ClassicalSettings.Default;
        if (!_samplers.TryGetValue(settings, out var s)) _samplers[settings] = s = _factory(settings);
        return s;
    }

    private static async Task Run(ISampler sampler, SampleJob job, string? reason, IActorRef replyTo)
    {
        try
        {
            var set = await sampler.SampleAsync(job.Problem, job.Request, CancellationToken.None).ConfigureAwait(false);
            var info = set.Info;
            if (reason is not null) set = set.WithInfo(info.WithNote("fallback_reason", reason));
            double qat = info.Timing.TryGetValue("qpu_access_time", out var t) ? t : 0;
            replyTo.Tell(new SampleReply(job.JobId, job.ForReply(set), sampler.Name, reason, qat));
        }
        catch (Exception e)
        {
            replyTo.Tell(new SampleFailed(job.JobId, $"sampler '{sampler.Name}' failed on job {job.JobId}: {e.Message}"));
        }
    }

    /// <summary>The name of the pool of sampler <paramref name="sampler"/> on a sampler node (under /user).</summary>
    public static string PoolName(string sampler) => "sampler-" + sampler;

    /// <summary>
    /// A router to the <paramref name="sampler"/> pools of every node with the sampler role, round robin, for a node
    /// that has none of its own. Jobs and replies cross nodes, so they are IQaMessage records bound to the serializer.
    /// </summary>
    public static Props OnSamplerNodes(string sampler) =>
        Props.Empty.WithRouter(new Akka.Cluster.Routing.ClusterRouterGroup(new RoundRobinGroup(Array.Empty<string>()),
            new Akka.Cluster.Routing.ClusterRouterGroupSettings(10_000, ["/user/" + PoolName(sampler)], allowLocalRoutees: false, useRole: "sampler")));

    /// <summary>A pool of <paramref name="size"/> workers, each with its own sampler instance.</summary>
    public static Props Pool(Func<ClassicalSettings, ISampler> factory, int size) =>
        Props.Create(() => new SamplerWorker(factory)).WithDispatcher(CpuDispatcher.Id).WithRouter(new SmallestMailboxPool(size));
}
