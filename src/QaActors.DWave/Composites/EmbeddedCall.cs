using QaActors.DWave.Embedding;
using QaActors.DWave.Sapi;
using QaActors.DWave.Structured;
using QaActors.Sampling;

namespace QaActors.DWave.Composites;

/// <summary>How logical problems are spread over chains and read back (the settings shared by the embedding and tiling composites).</summary>
public sealed record EmbeddingSettings
{
    /// <summary>Fixed chain strength; null uses uniform torque compensation (Ocean's default) with <see cref="ChainStrengthPrefactor"/>.</summary>
    public double? ChainStrength { get; init; }
    public double ChainStrengthPrefactor { get; init; } = Embedding.ChainStrength.DefaultPrefactor;
    /// <summary>The least strength torque compensation may give (hardware units); null for none.</summary>
    public double? MinChainStrength { get; init; }
    public UnembedOptions Unembed { get; init; } = new();
    /// <summary>Annealing time in µs (the solver's default when null).</summary>
    public double? AnnealingTime { get; init; }
}

/// <summary>
/// One call of a structured sampler carrying one or more embedded logical problems: embed (biases spread over chains,
/// clipped to the solver's h_range / j_range and counted), submit with auto_scale off (rescaling would change the sampled
/// temperature, docs/math.md "Temperature"), unembed every copy by majority vote. With several copies each result carries
/// its share of the call's timing (so that summing over problems gives the access time charged) and the whole call's
/// figure as qpu_access_time_call; likewise the call's clipping count is reported once.
/// </summary>
internal static class EmbeddedCall
{
    public static async Task<SampleSet[]> RunAsync(IStructuredSampler child, IReadOnlyList<Bqm> logical, IReadOnlyList<MinorEmbedding> embeddings,
        SampleRequest request, EmbeddingSettings settings, CancellationToken ct)
    {
        var solver = child.Solver;
        var embedded = EmbeddedProblem.CreateTiled(logical, embeddings, child.Target, new EmbedOptions
        {
            ChainStrength = settings.ChainStrength,
            ChainStrengthPrefactor = settings.ChainStrengthPrefactor,
            MinChainStrength = settings.MinChainStrength,
            HRange = (solver.HRange.Min, solver.HRange.Max),
            JRange = (solver.JRange.Min, solver.JRange.Max),
        });
        var parameters = new QpuParameters { NumReads = request.Reads, AnnealingTime = settings.AnnealingTime, AutoScale = false, Label = request.Label };
        var call = await child.SampleAsync(QpuProblem.FromBqm(embedded.Target), parameters, ct).ConfigureAwait(false);
        var unembedded = embedded.UnembedAll(call.Samples, settings.Unembed with { Seed = request.Seed });
        int k = logical.Count;
        var results = new SampleSet[k];
        for (int c = 0; c < k; c++)
        {
            var u = unembedded[c];
            var info = u.Samples.Info with { Sampler = "qpu" };
            if (k > 1)
            {
                foreach (var (key, value) in call.Samples.Info.Timing) info = info.WithTiming(key, key.EndsWith("_per_sample", StringComparison.Ordinal) ? value : value / k);
                info = info.WithProperty("qpu_access_time_call", call.Samples.Info.Timing.GetValueOrDefault("qpu_access_time"));
                // The clipping count is the call's (one programmed problem); the first copy carries it, so sums over examples count each bias once.
                info = info.WithProperty("clipped", c == 0 ? embedded.ClippedCount : 0).WithProperty("clipped_call", embedded.ClippedCount);
            }
            info = info.WithProperty("tiles", k).WithProperty("qubits", embeddings[c].TotalQubits).WithNote("problem_id", call.ProblemId);
            results[c] = u.Samples.WithInfo(info);
        }
        return results;
    }

    /// <summary>Every problem must share one structure and every request the same reads; returns the structure key.</summary>
    public static void CheckBatch(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests)
    {
        if (requests.Count != problems.Count)
            throw new ArgumentException($"{problems.Count} problems but {requests.Count} requests; give one request per problem", nameof(requests));
        if (problems.Count == 0) return;
        string key = EmbeddingCache.StructureKey(problems[0]);
        for (int i = 0; i < problems.Count; i++)
        {
            requests[i].Validate();
            if (requests[i].Reads != requests[0].Reads)
                throw new ArgumentException($"request {i} asks for {requests[i].Reads} reads, request 0 for {requests[0].Reads}; one call draws one number of reads", nameof(requests));
            if (i > 0 && EmbeddingCache.StructureKey(problems[i]) != key)
                throw new ArgumentException($"problem {i} has a different structure (variables or couplings) from problem 0; tiled sampling needs one structure", nameof(problems));
        }
    }
}
