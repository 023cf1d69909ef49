using QaActors.DWave.Sapi;
using QaActors.DWave.Topology;

namespace QaActors.DWave.Structured;

/// <summary>Per-call settings of the SAPI solver: how long a call may take, the access-time cap, the problem label.</summary>
public sealed record SapiCallOptions
{
    /// <summary>Every call (submit, wait, answer) ends within this; a slower answer is a Transient failure and the problem is cancelled.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Refuse a call whose estimated access time exceeds this (µs); null = no cap.</summary>
    public double? MaxAccessTimeMicroseconds { get; init; }
    public string? Label { get; init; }
}

/// <summary>One SAPI solver as a structured sampler (Ocean's <c>DWaveSampler</c>): submit, wait, fetch the answer.</summary>
public sealed class SapiStructuredSampler : IStructuredSampler, IProblemLookup, IDisposable
{
    private readonly SapiClient _client;
    private readonly bool _ownsClient;

    public SolverInfo Solver { get; }
    public Graph Target { get; }
    public SapiCallOptions Options { get; }

    public SapiStructuredSampler(SapiClient client, SolverInfo solver, SapiCallOptions? options = null, bool ownsClient = false)
    {
        _client = client;
        _ownsClient = ownsClient;
        Solver = solver;
        Options = options ?? new SapiCallOptions();
        Target = StructuredSamplers.TargetOf(solver);
    }

    /// <summary>A call's own label (<see cref="QpuParameters.Label"/>) wins over the configured one.</summary>
    public Task<QpuCallResult> SampleAsync(QpuProblem problem, QpuParameters parameters, CancellationToken cancellationToken = default) =>
        _client.SampleAsync(Solver, problem, parameters, Options.Deadline, Options.MaxAccessTimeMicroseconds, parameters.Label ?? Options.Label, cancellationToken);

    public Task<double?> AccessTimeOfAsync(string problemId, CancellationToken cancellationToken = default) =>
        _client.AccessTimeOfAsync(problemId, cancellationToken);

    public async Task<IReadOnlyList<string>> ProblemsLabelledAsync(string label, CancellationToken cancellationToken = default) =>
        (await _client.ListProblemsAsync(label, cancellationToken).ConfigureAwait(false)).Select(p => p.Id).ToArray();

    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }
}
