using System.Collections.Concurrent;
using System.Text;
using QaActors.DWave.Embedding;
using QaActors.DWave.Temperature;
using QaActors.DWave.Topology;
using QaActors.Sampling;

namespace QaActors.DWave.Sapi;

/// <summary>Settings of the "qpu" sampler (CLI: --solver, --reads via the request, --annealing-time, --chain-strength, --t-eff).</summary>
public sealed record QpuSamplerOptions
{
    /// <summary>Every call (submit, wait, answer) ends within this; a slower answer is a typed Transient failure and the problem is cancelled.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(5);
    public double? AnnealingTime { get; init; }
    /// <summary>Fixed chain strength; null uses uniform torque compensation (Ocean's default) with <see cref="ChainStrengthPrefactor"/>.</summary>
    public double? ChainStrength { get; init; }
    public double ChainStrengthPrefactor { get; init; } = Embedding.ChainStrength.DefaultPrefactor;
    /// <summary>
    /// The logical problem is multiplied by this before embedding: 1/T_eff (docs/math.md, "Temperature").
    /// 1 when the problem handed in is already divided by T, as the per-example EBM problems are (docs/math.md, "The per-example problem").
    /// </summary>
    public double ProblemScale { get; init; } = 1;
    /// <summary>
    /// <c>--t-eff auto</c>: after every call the scale is set to 1/β̂ from a running mean of the β estimates (β̂ is in
    /// programmed units, so programmed = logical·scale is sampled at β̂·scale = 1 on the logical model, docs/math.md "Temperature"),
    /// starting from <see cref="ProblemScale"/>. Needs <see cref="EstimateBeta"/>.
    /// </summary>
    public bool AutoTemperature { get; init; }
    /// <summary>Weight of the newest β estimate in the running mean (exponential smoothing).</summary>
    public double AutoTemperatureSmoothing { get; init; } = 0.3;
    public UnembedOptions Unembed { get; init; } = new();
    public MinorEmbedderOptions? MinorEmbedder { get; init; }
    /// <summary>Copies of one problem placed on the chip per call by <see cref="QpuSampler.SampleManyAsync"/> (1 = no tiling).</summary>
    public int MaxTiles { get; init; } = 1;
    public TilingOptions? Tiling { get; init; }
    /// <summary>Refuse a call whose estimated access time exceeds this (µs); null = no cap.</summary>
    public double? MaxAccessTimeMicroseconds { get; init; }
    public string? Label { get; init; }
    /// <summary>Estimate β from each call's logical samples (maximum pseudo-likelihood) and report it as beta_estimate.</summary>
    public bool EstimateBeta { get; init; } = true;
}

/// <summary>
/// The "qpu" sampler: the logical problem is minor-embedded on the solver's working graph (the embedding is found once
/// per problem structure and reused, so every example of an experiment shares it), biases are spread over chains with
/// the chosen chain strength and clipped to h_range / j_range (counted, never silent), sent with auto_scale off (docs/math.md, "Temperature":
/// rescaling would change the sampled temperature), and the answer is unembedded by majority vote.
/// Info: SAPI timing (µs, incl. qpu_access_time), problem_id, clipped, chain_break_fraction, chain_strength,
/// embedding summary, beta_estimate. The QPU's β is the hardware's: <see cref="SampleRequest.Beta"/> cannot be set on a
/// QPU and is only recorded (beta_requested); temperature is controlled by <see cref="QpuSamplerOptions.ProblemScale"/>.
/// </summary>
public sealed class QpuSampler : IBatchSampler, IDisposable
{
    private readonly SapiClient _client;
    private readonly ConcurrentDictionary<string, Lazy<MinorEmbedding>> _embeddings = new();
    private readonly ConcurrentDictionary<string, Lazy<IReadOnlyList<MinorEmbedding>>> _tiles = new();

    private readonly object _scaleGate = new();
    private readonly bool _ownsClient;
    private double _scale;
    private double? _betaMean;

    public SolverInfo Solver { get; }
    /// <summary>The factor applied to problems now (fixed, or moving under <see cref="QpuSamplerOptions.AutoTemperature"/>).</summary>
    public double CurrentProblemScale { get { lock (_scaleGate) return _scale; } }
    /// <summary>Running mean of β estimates in programmed units (null before the first estimate).</summary>
    public double? RunningBetaEstimate { get { lock (_scaleGate) return _betaMean; } }
    public Graph Target { get; }
    public QpuSamplerOptions Options { get; }
    public string Name => "qpu";

    public QpuSampler(SapiClient client, SolverInfo solver, QpuSamplerOptions? options = null) : this(client, solver, options, ownsClient: false)
    {
    }

    private QpuSampler(SapiClient client, SolverInfo solver, QpuSamplerOptions? options, bool ownsClient)
    {
        _ownsClient = ownsClient;
        _client = client;
        Solver = solver;
        Options = options ?? new QpuSamplerOptions();
        if (!(Options.ProblemScale > 0) || !double.IsFinite(Options.ProblemScale))
            throw new ArgumentOutOfRangeException(nameof(options), Options.ProblemScale, "problem scale (1/t-eff) must be positive and finite");
        if (Options.AutoTemperature && !Options.EstimateBeta)
            throw new ArgumentException("automatic temperature needs EstimateBeta", nameof(options));
        if (Options.AutoTemperatureSmoothing is not (> 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(options), Options.AutoTemperatureSmoothing, "smoothing must be in (0, 1]");
        _scale = Options.ProblemScale;
        var shape = solver.TopologyType switch
        {
            "pegasus" when solver.TopologyShape.Length == 1 => new LatticeShape(LatticeKind.Pegasus, solver.TopologyShape[0]),
            "zephyr" when solver.TopologyShape.Length >= 1 => new LatticeShape(LatticeKind.Zephyr, solver.TopologyShape[0], solver.TopologyShape.Length > 1 ? solver.TopologyShape[1] : 4),
            _ => LatticeShape.None,
        };
        Target = HardwareGraph.FromSolver(solver.Qubits, solver.Couplers, shape);
    }

    /// <summary>Fetches the solver's description and builds the sampler.</summary>
    /// <summary>
    /// From Ocean-style configuration (<see cref="Config.DWaveConfig.Load"/>): the configured solver, or else the online QPU
    /// solver with the most qubits (Ocean's DWaveSampler orders by -num_active_qubits). The sampler owns the client it
    /// creates and disposes it.
    /// </summary>
    public static async Task<QpuSampler> FromConfigAsync(Config.DWaveConfig config, QpuSamplerOptions? options = null,
        Func<SapiClientOptions, SapiClientOptions>? adjustClient = null, CancellationToken ct = default)
    {
        var client = SapiClient.FromConfig(config, adjustClient);
        try
        {
            SolverInfo solver;
            if (config.Solver is { } name) solver = await client.GetSolverAsync(name, ct).ConfigureAwait(false);
            else
            {
                var all = await client.ListSolversAsync(ct).ConfigureAwait(false);
                solver = all.Where(s => s.Category == "qpu" && s.IsOnline).OrderByDescending(s => s.Qubits.Length).FirstOrDefault()
                    ?? throw new SapiException(SapiErrorKind.NotFound, $"no online QPU solver at {config.ResolvedEndpoint}; set DWAVE_API_SOLVER or --solver");
            }
            return new QpuSampler(client, solver, options, ownsClient: true);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }

    public static async Task<QpuSampler> CreateAsync(SapiClient client, string solverName, QpuSamplerOptions? options = null, CancellationToken ct = default) =>
        new(client, await client.GetSolverAsync(solverName, ct).ConfigureAwait(false), options);

    /// <summary>The (cached) embedding for this problem's structure: constructive for K×M bipartite graphs, heuristic otherwise.</summary>
    public MinorEmbedding EmbeddingFor(Bqm problem)
    {
        var (nodes, edges) = Structure(problem);
        var lazy = _embeddings.GetOrAdd(StructureKey(nodes, edges), _ => new Lazy<MinorEmbedding>(() => Wrap(() => EmbeddingFinder.Find(edges, Target, Options.MinorEmbedder, nodes))));
        return lazy.Value;
    }

    /// <summary>The (cached) disjoint copies of this problem's structure on the chip, at most <see cref="QpuSamplerOptions.MaxTiles"/>.</summary>
    public IReadOnlyList<MinorEmbedding> TilesFor(Bqm problem)
    {
        if (Options.MaxTiles <= 1) return [EmbeddingFor(problem)];
        var (nodes, edges) = Structure(problem);
        var lazy = _tiles.GetOrAdd(StructureKey(nodes, edges), _ => new Lazy<IReadOnlyList<MinorEmbedding>>(() => Wrap(() =>
        {
            var t = Tiling.Create(edges, Target, Options.MaxTiles, Options.Tiling, nodes);
            return t.Count > 0 ? t : throw new EmbeddingException($"no copy of the {nodes.Length}-variable problem fits on {Solver.Name}");
        })));
        return lazy.Value;
    }

    private static (int[] Nodes, (int U, int V)[] Edges) Structure(Bqm problem) =>
        (problem.Labels.ToArray(), problem.QuadraticByLabel().Select(t => (t.U, t.V)).ToArray());

    private T Wrap<T>(Func<T> find)
    {
        try { return find(); }
        catch (EmbeddingException e) { throw new EmbeddingException($"solver {Solver.Name}: {e.Message}"); }
    }

    private static string StructureKey(int[] nodes, (int U, int V)[] edges)
    {
        var sb = new StringBuilder(nodes.Length * 4 + edges.Length * 8);
        foreach (int n in nodes.Order()) sb.Append(n).Append(',');
        sb.Append('|');
        foreach (var (u, v) in edges.Select(e => (Math.Min(e.U, e.V), Math.Max(e.U, e.V))).Order()) sb.Append(u).Append('-').Append(v).Append(',');
        return sb.ToString();
    }

    public async Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
    {
        request.Validate();
        double scale = CurrentProblemScale;
        var logical = Scaled(problem, scale);
        var results = await SampleCallAsync([problem], [logical], [EmbeddingFor(logical)], scale, request, cancellationToken).ConfigureAwait(false);
        return results[0];
    }

    /// <summary>
    /// Samples several problems of one structure (the examples of a batch: same couplings layout, own linear terms),
    /// as many per QPU call as <see cref="TilesFor"/> places on the chip, calls made one after another. Each result carries
    /// its share of the call's timing (the call's values divided by the copies in it, so that summing over examples gives
    /// the access time charged) and the full call figures as qpu_access_time_call and tiles.
    /// </summary>
    public async Task<IReadOnlyList<SampleSet>> SampleManyAsync(IReadOnlyList<Bqm> problems, SampleRequest request, CancellationToken cancellationToken = default)
    {
        request.Validate();
        if (problems.Count == 0) return [];
        string key = StructureKey(Structure(problems[0]).Nodes, Structure(problems[0]).Edges);
        for (int i = 1; i < problems.Count; i++)
        {
            var (n, e) = Structure(problems[i]);
            if (StructureKey(n, e) != key)
                throw new ArgumentException($"problem {i} has a different structure (variables or couplings) from problem 0; tiled sampling needs one structure", nameof(problems));
        }
        var tiles = TilesFor(problems[0]);
        var all = new List<SampleSet>(problems.Count);
        for (int start = 0; start < problems.Count; start += tiles.Count)
        {
            int k = Math.Min(tiles.Count, problems.Count - start);
            double scale = CurrentProblemScale;
            var group = problems.Skip(start).Take(k).ToArray();
            var part = await SampleCallAsync(group, group.Select(p => Scaled(p, scale)).ToArray(), tiles.Take(k).ToArray(), scale,
                request with { Seed = SeedPolicy.Derive(request.Seed, start, 0, SeedPolicy.Purpose.Sample) }, cancellationToken).ConfigureAwait(false);
            all.AddRange(part);
        }
        return all;
    }

    private Bqm Scaled(Bqm problem, double scale) => scale == 1 ? problem : problem.Scale(scale);

    private void Observe(double beta)
    {
        if (!Options.AutoTemperature || !double.IsFinite(beta) || !(beta > 0)) return;
        lock (_scaleGate)
        {
            _betaMean = _betaMean is { } m ? (1 - Options.AutoTemperatureSmoothing) * m + Options.AutoTemperatureSmoothing * beta : beta;
            _scale = 1 / _betaMean.Value;
        }
    }

    private async Task<SampleSet[]> SampleCallAsync(Bqm[] problems, Bqm[] logical, MinorEmbedding[] embeddings, double scale, SampleRequest request, CancellationToken ct)
    {
        var embedded = EmbeddedProblem.CreateTiled(logical, embeddings, Target, new EmbedOptions
        {
            ChainStrength = Options.ChainStrength,
            ChainStrengthPrefactor = Options.ChainStrengthPrefactor,
            HRange = (Solver.HRange.Min, Solver.HRange.Max),
            JRange = (Solver.JRange.Min, Solver.JRange.Max),
        });
        var parameters = new QpuParameters { NumReads = request.Reads, AnnealingTime = Options.AnnealingTime, AutoScale = false };
        var call = await _client.SampleAsync(Solver, QpuProblem.FromBqm(embedded.Target), parameters, Options.Deadline,
            Options.MaxAccessTimeMicroseconds, Options.Label, ct).ConfigureAwait(false);
        var unembedded = embedded.UnembedAll(call.Samples, Options.Unembed with { Seed = request.Seed });
        int k = problems.Length;
        var results = new SampleSet[k];
        for (int c = 0; c < k; c++)
        {
            var u = unembedded[c];
            var info = u.Samples.Info with { Sampler = Name };
            if (k > 1)
            {
                foreach (var (key, value) in call.Samples.Info.Timing) info = info.WithTiming(key, key.EndsWith("_per_sample", StringComparison.Ordinal) ? value : value / k);
                info = info.WithProperty("qpu_access_time_call", call.Samples.Info.Timing.GetValueOrDefault("qpu_access_time"));
            }
            info = info.WithProperty("tiles", k)
                .WithProperty("beta_requested", request.Beta)
                .WithProperty("problem_scale", scale)
                .WithProperty("qubits", embeddings[c].TotalQubits);
            if (Options.EstimateBeta)
            {
                var est = BetaEstimator.MaximumPseudoLikelihood(logical[c].ToSpin(), u.Samples.ChangeVartype(Vartype.Spin));
                info = est.IsUnbounded ? info.WithNote("beta_estimate", "unbounded (every read is a local minimum)") : info.WithProperty("beta_estimate", est.Beta);
                Observe(est.Beta);
            }
            // Energies on the problem as handed in (before the scale), as every other sampler reports them.
            results[c] = scale == 1
                ? u.Samples.WithInfo(info)
                : SampleSet.FromSamples(problems[c], u.Samples.Samples.ToArray(), info, u.Samples.NumOccurrences.ToArray());
        }
        return results;
    }
}
