using QaActors.DWave.Embedding;
using QaActors.DWave.Sapi;
using QaActors.Sampling;

namespace QaActors.Orchestration.Gateway;

/// <summary>
/// The production backend of a gateway: the project's QPU sampler (embedding, SAPI call, unembedding).
/// The access-time estimate uses the solver's published timing model with the qubits the problem's
/// embedding occupies, so the quota is checked against what this call would really cost.
/// </summary>
public sealed class QpuSamplerBackend(QpuSampler sampler) : IQpuBackend
{
    public string Solver => sampler.Solver.Name;
    public string SamplerName => sampler.Name;

    public double EstimateAccessMicros(Bqm problem, SampleRequest request) =>
        AccessTimeEstimator.EstimateAccessTime(sampler.Solver, sampler.EmbeddingFor(problem).TotalQubits, request.Reads, sampler.Options.AnnealingTime);

    public Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken) =>
        sampler.SampleAsync(problem, request, cancellationToken);

    /// <summary>An embedding that cannot be found is the problem's fault (like a bad problem), not an outage.</summary>
    public QpuFailureKind Classify(Exception error) =>
        error is EmbeddingException ? QpuFailureKind.BadRequest : DelegateQpuBackend.DefaultClassify(error);
}
