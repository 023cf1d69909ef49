using QaActors.Sampling;

namespace QaActors.Orchestration.Gateway;

/// <summary>How a QPU call failed, which decides what the gateway does next.</summary>
public enum QpuFailureKind
{
    /// <summary>The QPU or the service is unavailable (offline solver, 5xx, 429, timeout, network, auth).
    /// Counts against the circuit breaker; the request falls back or is retried.</summary>
    Unavailable,
    /// <summary>The problem itself was rejected (bad problem, no embedding). Not the QPU's fault: no breaker count,
    /// the request falls back if it may, or fails.</summary>
    BadRequest,
}

/// <summary>How the QPU takes problems of one structure: how many fit in one call, and what a call costs.</summary>
/// <param name="CopiesPerCall">Problems one call may carry (at least 1).</param>
/// <param name="Key">Identifies the layout for the backend's estimate (e.g. the structure's embedding).</param>
public sealed record QpuPlan(int CopiesPerCall, object? Key = null);

/// <summary>What the problems submitted under one label used: how many the QPU lists, how many have not ended, and the QPU time (µs) of those that have.</summary>
public sealed record LabelUsage(int Problems, int Unfinished, double Micros);

/// <summary>
/// What the gateway needs from a QPU: a plan for a problem structure (the embedding search, which may take seconds,
/// or the first contact with the solver), an estimate of a call's access time (to check the quota before
/// submitting), a call carrying several problems, and a classification of failures. The production implementation
/// is the project's QPU sampler (SAPI solver, tiling and embedding, temperature); tests use fakes and the SAPI
/// simulator. Nothing here may block the calling thread: the gateway calls it on its actor thread.
/// </summary>
public interface IQpuBackend
{
    /// <summary>Solver name (the gateway is one per solver).</summary>
    string Solver { get; }

    /// <summary>Name recorded as "served by" (normally "qpu").</summary>
    string SamplerName { get; }

    /// <summary>The plan for problems of this one's structure under <paramref name="settings"/>; runs off the caller's thread.</summary>
    Task<QpuPlan> PlanAsync(Bqm problem, QpuJobSettings settings, CancellationToken cancellationToken);

    /// <summary>Expected qpu_access_time (µs) of one call carrying <paramref name="copies"/> problems under <paramref name="plan"/>.</summary>
    double EstimateAccessMicros(QpuPlan plan, int copies, SampleRequest request);

    /// <summary>
    /// One call: the problems (at most the plan's copies), one request each; results in the same order. The requests'
    /// <see cref="SampleRequest.Label"/> (the reservation's) goes with every problem the call submits.
    /// </summary>
    Task<IReadOnlyList<SampleSet>> SampleAsync(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests, QpuJobSettings settings, CancellationToken cancellationToken);

    QpuFailureKind Classify(Exception error);

    /// <summary>
    /// The problems a failed call had handed to the QPU without learning how they ended (the answer could not be
    /// fetched, the wait timed out, the connection dropped): they may have run and used QPU time. Empty when nothing of
    /// the call can have run (refused before submission, or it ended without an answer). The gateway charges such a
    /// call its reservation and asks <see cref="UsageOfLabelAsync"/> later (docs/architecture.md, "Gateway").
    /// </summary>
    IReadOnlyList<string> ProblemsInDoubt(Exception error);

    /// <summary>What the problems labelled <paramref name="label"/> used; null when this backend cannot list problems (nothing remote).</summary>
    Task<LabelUsage?> UsageOfLabelAsync(string label, CancellationToken cancellationToken);
}

/// <summary>
/// An <see cref="IQpuBackend"/> over any <see cref="ISampler"/>, one problem per call, with a given estimate and
/// classifier. The settings' temperature is not applied: the sampler gets the problem as given.
/// </summary>
public sealed class DelegateQpuBackend(
    string solver,
    ISampler sampler,
    Func<Bqm, SampleRequest, double> estimate,
    Func<Exception, QpuFailureKind>? classify = null) : IQpuBackend
{
    public string Solver => solver;
    public string SamplerName => sampler.Name;
    public Task<QpuPlan> PlanAsync(Bqm problem, QpuJobSettings settings, CancellationToken ct) => Task.FromResult(new QpuPlan(1, problem));
    public double EstimateAccessMicros(QpuPlan plan, int copies, SampleRequest request) => estimate((Bqm)plan.Key!, request) * copies;

    public async Task<IReadOnlyList<SampleSet>> SampleAsync(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests, QpuJobSettings settings, CancellationToken ct)
    {
        var sets = new SampleSet[problems.Count];
        for (int i = 0; i < sets.Length; i++) sets[i] = await sampler.SampleAsync(problems[i], requests[i], ct).ConfigureAwait(false);
        return sets;
    }

    public QpuFailureKind Classify(Exception error) => classify?.Invoke(error) ?? DefaultClassify(error);

    /// <summary>A local sampler hands nothing to a remote QPU: a failed call used nothing.</summary>
    public IReadOnlyList<string> ProblemsInDoubt(Exception error) => [];

    /// <summary>A local sampler keeps no list of problems to look in.</summary>
    public Task<LabelUsage?> UsageOfLabelAsync(string label, CancellationToken ct) => Task.FromResult<LabelUsage?>(null);

    /// <summary>The problem a SAPI call lost track of (<see cref="QaActors.DWave.Sapi.SapiException.InDoubt"/>), if any.</summary>
    public static IReadOnlyList<string> SapiProblemsInDoubt(Exception e) => e switch
    {
        QaActors.DWave.Sapi.SapiException { InDoubt: true, ProblemId: { } id } => [id],
        AggregateException { InnerException: { } inner } => SapiProblemsInDoubt(inner),
        _ => [],
    };

    /// <summary>
    /// SAPI's typed errors: a bad problem is the request's fault; everything else (authentication, unknown
    /// solver, offline, failed problem, 429, 5xx/timeouts, protocol) means the QPU cannot serve now.
    /// </summary>
    public static QpuFailureKind DefaultClassify(Exception e) => e switch
    {
        QaActors.DWave.Sapi.SapiException s => s.Kind == QaActors.DWave.Sapi.SapiErrorKind.BadProblem ? QpuFailureKind.BadRequest : QpuFailureKind.Unavailable,
        QaActors.DWave.Embedding.EmbeddingException => QpuFailureKind.BadRequest,
        ArgumentException or ProblemFormatException => QpuFailureKind.BadRequest,
        _ => QpuFailureKind.Unavailable,
    };
}
