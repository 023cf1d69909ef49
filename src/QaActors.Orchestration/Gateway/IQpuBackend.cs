using QaActors.Sampling;

namespace QaActors.Orchestration.Gateway;

/// <summary>How a QPU call failed, which decides what the gateway does next.</summary>
public enum QpuFailureKind
{
    /// <summary>The QPU or the service is unavailable (offline solver, 5xx, 429, timeout, network, auth).
    /// Counts against the circuit breaker; the request falls back or is retried.</summary>
    Unavailable,
    /// <summary>The problem itself was rejected (bad problem). Not the QPU's fault: no breaker count,
    /// the request falls back if it may, or fails.</summary>
    BadRequest,
}

/// <summary>
/// What the gateway needs from a QPU: a non-blocking sample call, an estimate of the access time
/// (to check the quota before submitting) and a classification of failures. The production
/// implementation wraps the SAPI client and QPU sampler; tests use fakes and the SAPI simulator.
/// Implementations must not block the calling thread (the gateway calls them on its actor thread).
/// </summary>
public interface IQpuBackend
{
    /// <summary>Solver name (the gateway is one per solver).</summary>
    string Solver { get; }

    /// <summary>Name recorded as "served by" (normally "qpu").</summary>
    string SamplerName { get; }

    /// <summary>Expected qpu_access_time of this request, microseconds.</summary>
    double EstimateAccessMicros(Bqm problem, SampleRequest request);

    Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken);

    QpuFailureKind Classify(Exception error);
}

/// <summary>An <see cref="IQpuBackend"/> over any <see cref="ISampler"/>, with a given estimate and classifier.</summary>
public sealed class DelegateQpuBackend(
    string solver,
    ISampler sampler,
    Func<Bqm, SampleRequest, double> estimate,
    Func<Exception, QpuFailureKind>? classify = null) : IQpuBackend
{
    public string Solver => solver;
    public string SamplerName => sampler.Name;
    public double EstimateAccessMicros(Bqm problem, SampleRequest request) => estimate(problem, request);
    public Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken ct) => sampler.SampleAsync(problem, request, ct);
    public QpuFailureKind Classify(Exception error) => classify?.Invoke(error) ?? DefaultClassify(error);

    /// <summary>
    /// SAPI's typed errors: a bad problem is the request's fault; everything else (authentication, unknown
    /// solver, offline, failed problem, 429, 5xx/timeouts, protocol) means the QPU cannot serve now.
    /// </summary>
    public static QpuFailureKind DefaultClassify(Exception e) => e switch
    {
        QaActors.DWave.Sapi.SapiException s => s.Kind == QaActors.DWave.Sapi.SapiErrorKind.BadProblem ? QpuFailureKind.BadRequest : QpuFailureKind.Unavailable,
        ArgumentException or ProblemFormatException => QpuFailureKind.BadRequest,
        _ => QpuFailureKind.Unavailable,
    };
}
