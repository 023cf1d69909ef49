using System.Collections.Concurrent;
using QaActors.DWave.Composites;
using QaActors.DWave.Embedding;
using QaActors.DWave.Structured;
using QaActors.Sampling;

namespace QaActors.DWave.Sapi;

/// <summary>Settings of the "qpu" sampler (CLI: --solver, --annealing-time, --chain-strength, --tiles, --t-eff).</summary>
public sealed record QpuSamplerOptions
{
    /// <summary>Deadline, access-time cap and label of every SAPI call.</summary>
    public SapiCallOptions Call { get; init; } = new();
    public double? AnnealingTime { get; init; }
    /// <summary>Fixed chain strength; null uses uniform torque compensation (Ocean's default) with <see cref="ChainStrengthPrefactor"/>.</summary>
    public double? ChainStrength { get; init; }
    public double ChainStrengthPrefactor { get; init; } = Embedding.ChainStrength.DefaultPrefactor;
    /// <summary>The temperature used by <see cref="QpuSampler.SampleAsync"/> and the one-request <see cref="QpuSampler.SampleManyAsync"/> (paper: T = 16).</summary>
    public QpuTemperature Temperature { get; init; } = QpuTemperature.Paper;
    /// <summary>Weight of the newest β estimate in the running mean under auto temperature.</summary>
    public double AutoTemperatureSmoothing { get; init; } = 0.3;
    public UnembedOptions Unembed { get; init; } = new();
    public MinorEmbedderOptions? MinorEmbedder { get; init; }
    /// <summary>Problems placed on the chip per call (copies of one structure; 1 = no tiling).</summary>
    public int MaxTiles { get; init; } = 1;
    public TilingOptions? Tiling { get; init; }

    internal EmbeddingSettings ToEmbeddingSettings() => new()
    {
        ChainStrength = ChainStrength, ChainStrengthPrefactor = ChainStrengthPrefactor, Unembed = Unembed, AnnealingTime = AnnealingTime,
    };
}

/// <summary>
/// The "qpu" sampler as Ocean users assemble it: a structured sampler for the solver, wrapped by the tiling/embedding
/// composite and the temperature composite (<see cref="TemperatureComposite"/>, the only place 1/T is applied). Built
/// from configuration it contacts SAPI only when first used, and again after a failure, so an experiment can start
/// while the QPU is down (a gateway then falls back and probes). The embedding cache is shared by every temperature
/// and tiling the sampler serves. Problems are given at the model's own temperature.
/// </summary>
public sealed class QpuSampler : IBatchSampler, IDisposable
{
    private readonly Func<CancellationToken, Task<IStructuredSampler>> _resolve;
    private readonly IDisposable? _owned;
    private readonly SemaphoreSlim _resolveGate = new(1, 1);
    private readonly ConcurrentDictionary<(QpuTemperature, int), Stack> _stacks = new();
    private volatile IStructuredSampler? _structured;
    private EmbeddingCache? _cache;

    private sealed record Stack(TilingComposite Tiling, TemperatureComposite Temperature);

    public QpuSamplerOptions Options { get; }
    public string Name => "qpu";
    /// <summary>The solver's name when known, else the configured selector (or "default").</summary>
    public string SolverName { get; }

    /// <summary>Over a structured sampler that is already resolved (the simulator's QPU model, a SAPI solver).</summary>
    public QpuSampler(IStructuredSampler structured, QpuSamplerOptions? options = null)
        : this(_ => Task.FromResult(structured), structured.Solver.Name, options, null)
    {
        _structured = structured;
    }

    private QpuSampler(Func<CancellationToken, Task<IStructuredSampler>> resolve, string solverName, QpuSamplerOptions? options, IDisposable? owned)
    {
        Options = options ?? new QpuSamplerOptions();
        Options.Temperature.Validate();
        if (Options.MaxTiles < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.MaxTiles, "tiles must be at least 1");
        _resolve = resolve;
        SolverName = solverName;
        _owned = owned;
    }

    /// <summary>
    /// From Ocean-style configuration (<see cref="Config.DWaveConfig.Load"/>), without contacting SAPI: on first use the
    /// solver the setting selects is fetched (a name, or the best match of a JSON feature filter; none: the online QPU
    /// solver with the most qubits, as Ocean's DWaveSampler). The sampler owns the client it creates.
    /// </summary>
    public static QpuSampler FromConfig(Config.DWaveConfig config, QpuSamplerOptions? options = null, Func<SapiClientOptions, SapiClientOptions>? adjustClient = null)
    {
        var client = SapiClient.FromConfig(config, adjustClient);
        var o = options ?? new QpuSamplerOptions();
        return new QpuSampler(async ct =>
        {
            var solver = await client.SelectSolverAsync(config.SolverSelector, ct).ConfigureAwait(false);
            return new SapiStructuredSampler(client, solver, o.Call);
        }, config.SolverSelector?.Name ?? config.Solver ?? "default", o, client);
    }

    /// <summary>Fetches the named solver now (tests and tools that want the solver at hand).</summary>
    public static async Task<QpuSampler> CreateAsync(SapiClient client, string solverName, QpuSamplerOptions? options = null, CancellationToken ct = default)
    {
        var o = options ?? new QpuSamplerOptions();
        return new QpuSampler(new SapiStructuredSampler(client, await client.GetSolverAsync(solverName, ct).ConfigureAwait(false), o.Call), o);
    }

    /// <summary>The structured sampler, resolved once (a failed resolution is retried at the next call).</summary>
    public async Task<IStructuredSampler> StructuredAsync(CancellationToken ct = default)
    {
        if (_structured is { } s) return s;
        await _resolveGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return _structured ??= await _resolve(ct).ConfigureAwait(false);
        }
        finally { _resolveGate.Release(); }
    }

    private async Task<Stack> StackAsync(QpuTemperature temperature, int maxTiles, CancellationToken ct)
    {
        var structured = await StructuredAsync(ct).ConfigureAwait(false);
        var cache = LazyInitializer.EnsureInitialized(ref _cache, () => new EmbeddingCache(structured.Target, structured.Solver.Name, Options.MinorEmbedder, Options.Tiling));
        return _stacks.GetOrAdd((temperature, maxTiles), k =>
        {
            // The temperature factor estimates the QPU's own β (T ≈ β_hw), which decides how strong a chain must be to
            // hold (docs/math.md, "Temperature"); under auto temperature the starting T does.
            var settings = Options.ToEmbeddingSettings() with { MinChainStrength = ChainStrength.ForHardwareTemperature(k.Item1.TEff) };
            var tiling = new TilingComposite(structured, cache, k.Item2, settings);
            return new Stack(tiling, new TemperatureComposite(tiling, k.Item1, Options.AutoTemperatureSmoothing));
        });
    }

    /// <summary>The copies of this problem's structure one call carries with at most <paramref name="maxTiles"/> (the first use searches the embedding, on the thread pool).</summary>
    public async Task<TileLayout> LayoutAsync(Bqm problem, int maxTiles, CancellationToken ct = default) =>
        await (await StackAsync(Options.Temperature, maxTiles, ct).ConfigureAwait(false)).Tiling.LayoutAsync(problem).ConfigureAwait(false);

    /// <summary>The solver's timing model for one call of <paramref name="copies"/> problems of <paramref name="layout"/> (µs); the solver must be resolved.</summary>
    public double EstimateAccessMicros(TileLayout layout, int copies, int reads) =>
        layout.EstimateAccessMicros((_structured ?? throw new InvalidOperationException("the solver is not resolved yet; call LayoutAsync first")).Solver,
            copies, reads, Options.AnnealingTime);

    /// <summary>The temperature composite serving <paramref name="temperature"/> (for its running estimate).</summary>
    public async Task<TemperatureComposite> TemperatureAsync(QpuTemperature temperature, int maxTiles, CancellationToken ct = default) =>
        (await StackAsync(temperature, maxTiles, ct).ConfigureAwait(false)).Temperature;

    /// <summary>
    /// Where problems of this sampler can be looked up again after a call lost track of them (by label, or by id:
    /// how much QPU time they used), or null: only a solver reached over SAPI keeps problems to look up.
    /// </summary>
    public async Task<IProblemLookup?> LookupAsync(CancellationToken ct = default) =>
        await StructuredAsync(ct).ConfigureAwait(false) as IProblemLookup;

    public async Task<IReadOnlyList<SampleSet>> SampleManyAsync(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests,
        QpuTemperature temperature, int maxTiles, CancellationToken ct = default)
    {
        var stack = await StackAsync(temperature, maxTiles, ct).ConfigureAwait(false);
        return await stack.Temperature.SampleManyAsync(problems, requests, ct).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<SampleSet>> SampleManyAsync(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests, CancellationToken cancellationToken = default) =>
        SampleManyAsync(problems, requests, Options.Temperature, Options.MaxTiles, cancellationToken);

    public async Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default) =>
        (await SampleManyAsync([problem], [request], Options.Temperature, 1, cancellationToken).ConfigureAwait(false))[0];

    public void Dispose()
    {
        _owned?.Dispose();
        _resolveGate.Dispose();
    }
}
