using QaActors.DWave.Embedding;
using QaActors.DWave.Sapi;
using QaActors.DWave.Structured;
using QaActors.Sampling;

namespace QaActors.DWave.Composites;

/// <summary>How many copies of a problem structure one call carries, and the qubits they occupy.</summary>
public sealed record TileLayout(IReadOnlyList<MinorEmbedding> Tiles)
{
    public int Copies => Tiles.Count;

    /// <summary>Qubits occupied by the first <paramref name="copies"/> copies (what a call with that many problems programs).</summary>
    public int QubitsFor(int copies) => Tiles.Take(copies).Sum(t => t.TotalQubits);

    /// <summary>The solver's published timing model for a call carrying <paramref name="copies"/> problems of this layout (µs).</summary>
    public double EstimateAccessMicros(SolverInfo solver, int copies, int reads, double? annealingTime) =>
        AccessTimeEstimator.EstimateAccessTime(solver, Math.Max(1, QubitsFor(Math.Min(copies, Copies))), reads, annealingTime);
}

/// <summary>
/// Samples several logical problems of one structure per call of a structured sampler, each on its own disjoint copy of
/// the structure's embedding (docs/dwave.md, "Tiling"): as many copies as fit on the chip, at most
/// <see cref="MaxTiles"/>, copies with chains longer than the tiling options allow left out. Unlike Ocean's
/// TilingComposite, which repeats one problem in every tile, each copy here keeps its own linear terms, so the examples
/// of a batch share a call. Problems go out in order, <see cref="TileLayout.Copies"/> per call; a call's seed (used to
/// break unembedding ties) is the request seed of its first problem, so the grouping alone decides the result.
/// </summary>
public sealed class TilingComposite : IBatchSampler
{
    private readonly IStructuredSampler _child;
    private readonly EmbeddingCache _cache;
    private readonly EmbeddingSettings _settings;

    public TilingComposite(IStructuredSampler child, EmbeddingCache cache, int maxTiles, EmbeddingSettings? settings = null)
    {
        if (maxTiles < 1) throw new ArgumentOutOfRangeException(nameof(maxTiles), maxTiles, "at least one copy per call is needed");
        _child = child;
        _cache = cache;
        MaxTiles = maxTiles;
        _settings = settings ?? new EmbeddingSettings();
    }

    public string Name => "qpu";
    public int MaxTiles { get; }
    public IStructuredSampler Child => _child;

    /// <summary>The copies one call of this structure carries (searched once, off the caller's thread).</summary>
    public async Task<TileLayout> LayoutAsync(Bqm problem) => new(await _cache.TilesAsync(problem, MaxTiles).ConfigureAwait(false));

    /// <summary>The solver's published timing model for a call carrying <paramref name="copies"/> problems of this layout (µs).</summary>
    public double EstimateAccessMicros(TileLayout layout, int copies, int reads) =>
        layout.EstimateAccessMicros(_child.Solver, copies, reads, _settings.AnnealingTime);

    public async Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default) =>
        (await SampleManyAsync([problem], [request], cancellationToken).ConfigureAwait(false))[0];

    public async Task<IReadOnlyList<SampleSet>> SampleManyAsync(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests, CancellationToken cancellationToken = default)
    {
        EmbeddedCall.CheckBatch(problems, requests);
        if (problems.Count == 0) return [];
        var layout = await LayoutAsync(problems[0]).ConfigureAwait(false);
        var all = new List<SampleSet>(problems.Count);
        for (int start = 0; start < problems.Count; start += layout.Copies)
        {
            int k = Math.Min(layout.Copies, problems.Count - start);
            var part = await EmbeddedCall.RunAsync(_child, problems.Skip(start).Take(k).ToArray(), layout.Tiles.Take(k).ToArray(),
                requests[start], _settings, cancellationToken).ConfigureAwait(false);
            all.AddRange(part);
        }
        return all;
    }
}
