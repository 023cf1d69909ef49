using QaActors.DWave.Composites;
using QaActors.DWave.Sapi;
using QaActors.Sampling;

namespace QaActors.Orchestration.Gateway;

/// <summary>
/// The production backend of a gateway: the project's QPU sampler (SAPI solver, tiling and embedding composites,
/// temperature composite). Planning resolves the solver on first use (so a gateway started during an outage falls
/// back and probes instead of failing) and finds the structure's tiles on the thread pool; the estimate uses the
/// solver's published timing model with the qubits a call of that many copies occupies, so the quota is checked
/// against what the call would really cost.
/// </summary>
public sealed class QpuSamplerBackend(QpuSampler sampler) : IQpuBackend
{
    public string Solver => sampler.SolverName;
    public string SamplerName => sampler.Name;

    public async Task<QpuPlan> PlanAsync(Bqm problem, QpuJobSettings settings, CancellationToken cancellationToken)
    {
        var layout = await sampler.LayoutAsync(problem, settings.MaxTiles, cancellationToken).ConfigureAwait(false);
        return new QpuPlan(layout.Copies, layout);
    }

    public double EstimateAccessMicros(QpuPlan plan, int copies, SampleRequest request) =>
        sampler.EstimateAccessMicros((TileLayout)plan.Key!, copies, request.Reads);

    public Task<IReadOnlyList<SampleSet>> SampleAsync(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests, QpuJobSettings settings, CancellationToken cancellationToken) =>
        sampler.SampleManyAsync(problems, requests, new QpuTemperature(settings.TEff, settings.AutoTemperature), settings.MaxTiles, cancellationToken);

    public QpuFailureKind Classify(Exception error) => DelegateQpuBackend.DefaultClassify(error);

    public IReadOnlyList<string> ProblemsInDoubt(Exception error) => DelegateQpuBackend.SapiProblemsInDoubt(error);

    public async Task<LabelUsage?> UsageOfLabelAsync(string label, CancellationToken cancellationToken)
    {
        if (await sampler.LookupAsync(cancellationToken).ConfigureAwait(false) is not { } lookup) return null;
        var ids = await lookup.ProblemsLabelledAsync(label, cancellationToken).ConfigureAwait(false);
        int unfinished = 0;
        double total = 0;
        foreach (var id in ids)
        {
            if (await lookup.AccessTimeOfAsync(id, cancellationToken).ConfigureAwait(false) is { } t) total += t;
            else unfinished++;
        }
        return new LabelUsage(ids.Count, unfinished, total);
    }
}
