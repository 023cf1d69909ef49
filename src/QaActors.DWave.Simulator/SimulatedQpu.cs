using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using QaActors.DWave.Sapi;
using QaActors.DWave.Structured;
using QaActors.DWave.Topology;
using QaActors.Sampling;

namespace QaActors.DWave.Simulator;

/// <summary>How the simulated annealer behaves: the sampler standing in for it, β_hw, control errors, the seed.</summary>
public sealed record SimulatedQpuModel
{
    /// <summary>The stand-in for the anneal (the project's "anneal" sampler by default), called at β = <see cref="BetaHw"/>.</summary>
    public required ISampler Sampler { get; init; }
    public double BetaHw { get; init; } = 16;
    public double SigmaH { get; init; } = 0.02;
    public double SigmaJ { get; init; } = 0.01;
    public ulong Seed { get; init; } = 1;

    public void Validate()
    {
        if (!(BetaHw > 0) || double.IsInfinity(BetaHw)) throw new ArgumentOutOfRangeException(nameof(BetaHw), BetaHw, "beta-hw must be positive and finite");
        if (SigmaH < 0 || SigmaJ < 0 || !double.IsFinite(SigmaH) || !double.IsFinite(SigmaJ))
            throw new ArgumentOutOfRangeException(nameof(SigmaH), "control-error sigmas must be finite and non-negative");
    }
}

/// <summary>A parameter or problem the simulated QPU refuses, with the HTTP status SAPI would answer.</summary>
public sealed class SimulatedQpuRejection(int code, string message) : Exception(message)
{
    public int Code { get; } = code;
}

/// <summary>
/// The simulator's QPU model as a structured sampler (Ocean's <c>DWaveSampler</c> shape, without HTTP): the
/// programmed problem gets Gaussian integrated control errors, is sampled at β_hw by <see cref="SimulatedQpuModel.Sampler"/>,
/// and comes back as SAPI's raw or histogram answer with the published timing model. <c>qa sapi-sim</c> serves
/// exactly this class, so composites tested against it see what they would see through HTTP.
///
/// Randomness depends only on the model's seed and the problem's content (type, h and J as encoded for the
/// solver, and the normalised run parameters): the same problem gives the same answer whenever and in whatever
/// order it arrives, which is what makes a run against the simulator reproducible and a resumed run identical.
/// </summary>
public sealed class SimulatedQpu : IStructuredSampler
{
    private readonly SimulatedQpuModel _model;

    public SimulatedSolverSpec Spec { get; }
    public SolverInfo Solver { get; }
    public Graph Target { get; }
    /// <summary>The solver's <c>properties</c> object as JSON text (about a megabyte on P16: built once).</summary>
    public string PropertiesJson { get; }

    public SimulatedQpu(SimulatedSolverSpec spec, SimulatedQpuModel model)
    {
        model.Validate();
        Spec = spec;
        _model = model;
        PropertiesJson = spec.PropertiesText();
        Solver = SolverInfo.Parse(RecordText("ONLINE", 0));
        Target = StructuredSamplers.TargetOf(Solver);
    }

    /// <summary>The solver record's top-level fields (identity, status, description, avg_load, properties), each as JSON text.</summary>
    public IReadOnlyList<(string Key, string Json)> RecordParts(string status, double avgLoad) =>
    [
        ("identity", new JsonObject { ["name"] = Spec.Name, ["version"] = new JsonObject { ["graph_id"] = Spec.EffectiveGraphId } }.ToJsonString()),
        ("status", JsonValue.Create(status).ToJsonString()),
        ("description", JsonValue.Create(Spec.Description).ToJsonString()),
        ("avg_load", JsonValue.Create(avgLoad).ToJsonString()),
        ("properties", PropertiesJson),
    ];

    /// <summary>The solver record (<c>{identity, status, description, avg_load, properties}</c>) as JSON text.</summary>
    public string RecordText(string status, double avgLoad) =>
        "{" + string.Join(",", RecordParts(status, avgLoad).Select(p => $"\"{p.Key}\":{p.Json}")) + "}";

    private JsonObject? _propertiesNode;

    /// <summary>The properties parsed once (for filters that pick single properties); callers must not modify it.</summary>
    public JsonObject PropertiesNode => LazyInitializer.EnsureInitialized(ref _propertiesNode, () => (JsonObject)JsonNode.Parse(PropertiesJson)!);

    /// <summary>
    /// Samples directly (no HTTP). The problem is checked as the client checks it (structure, ranges), then as the
    /// server checks its parameters; refusals are <see cref="SapiException"/>s of kind BadProblem, as through SAPI.
    /// </summary>
    public async Task<QpuCallResult> SampleAsync(QpuProblem problem, QpuParameters parameters, CancellationToken cancellationToken = default)
    {
        QpuProblemValidator.Validate(Solver, problem, parameters);
        RunSettings settings;
        // Checked in the form the server receives them (parsed JSON text), so both paths judge the same values.
        try { settings = CheckParameters(problem, (JsonObject)JsonNode.Parse(parameters.ToJson().ToJsonString())!); }
        catch (SimulatedQpuRejection e) { throw new SapiException(SapiErrorKind.BadProblem, $"{Solver.Name}: {e.Message}", e.Code, e.Code); }
        // The anneal is CPU work: never on the caller's thread (IStructuredSampler's rule).
        var answer = await Task.Run(() => SampleAnswerAsync(problem, settings, cancellationToken), cancellationToken).ConfigureAwait(false);
        string id = $"simqpu-{ContentHash(problem, settings):x16}";
        var samples = answer.ToSampleSet(problem.Offset, id, Solver.Name);
        AccessTimeEstimate? est = Solver.TimingData is null ? null
            : AccessTimeEstimator.Estimate(Solver, Math.Max(1, problem.ActiveQubits().Length), parameters.Timing);
        if (est is not null) samples = samples.WithInfo(samples.Info.WithProperty("estimated_qpu_access_time", est.QpuAccessTime));
        return new QpuCallResult(samples, id, answer, est);
    }

    /// <summary>The normalised parameters of one run: everything that changes the answer or its timing.</summary>
    public sealed record RunSettings(int NumReads, double AnnealTime, bool Raw, bool AutoScale, double ProgrammingThermalization,
        double ReadoutThermalization, bool ReduceIntersampleCorrelation);

    /// <summary>
    /// The server-side parameter check (Ocean SDK solver_parameters.rst): unknown names (including <c>x_*</c>, which
    /// only the client passes through), ill-typed values, ranges, exclusive pairs and the run-duration limit.
    /// </summary>
    public RunSettings CheckParameters(QpuProblem problem, JsonObject prm)
    {
        var spec = Spec;
        var info = Solver;
        foreach (var (k, _) in prm)
            if (!SimulatedSolverSpec.ParameterNames.Contains(k))
                throw new SimulatedQpuRejection(400, $"Unknown parameter '{k}'");
        int reads = prm.ContainsKey("num_reads") ? Int(prm, "num_reads") : 1;
        if (!info.NumReadsRange.Contains(reads)) throw new SimulatedQpuRejection(400, $"num_reads {reads} is out of range {info.NumReadsRange}");
        double anneal = prm.ContainsKey("annealing_time") ? Num(prm, "annealing_time") : spec.Timing.DefaultAnnealingTime;
        if (prm.ContainsKey("anneal_schedule"))
        {
            if (prm["anneal_schedule"] is not JsonArray sched || sched.Count < 2 || sched.Any(pt => pt is not JsonArray { Count: 2 } a || !IsNumber(a[0]) || !IsNumber(a[1])))
                throw new SimulatedQpuRejection(400, "anneal_schedule must be a list of at least two [t, s] number pairs");
            if (prm.ContainsKey("annealing_time")) throw new SimulatedQpuRejection(400, "annealing_time and anneal_schedule are mutually exclusive");
            anneal = JsonNumbers.Double(((JsonArray)sched[^1]!)[0]);
        }
        if (!info.AnnealingTimeRange.Contains(anneal)) throw new SimulatedQpuRejection(400, $"annealing_time {anneal} is out of range {info.AnnealingTimeRange}");
        string mode = prm.ContainsKey("initial_state") ? "raw" : "histogram";
        if (prm.ContainsKey("answer_mode"))
            mode = prm["answer_mode"] is JsonValue av && av.TryGetValue(out string? m) ? m
                : throw new SimulatedQpuRejection(400, $"parameter 'answer_mode' must be the string \"raw\" or \"histogram\", not {Describe(prm["answer_mode"])}");
        if (mode is not ("raw" or "histogram")) throw new SimulatedQpuRejection(400, $"answer_mode '{mode}' is not raw or histogram");
        bool autoScale = prm.ContainsKey("auto_scale") ? Bool(prm, "auto_scale") : true;
        if (prm.ContainsKey("flux_biases") && autoScale)
            throw new SimulatedQpuRejection(400, "flux_biases cannot be used with auto_scale; set auto_scale to false");
        if (!autoScale && problem.Type == QpuProblem.Ising)
        {
            foreach (var (q, h) in problem.Linear)
                if (!info.HRange.Contains(h)) throw new SimulatedQpuRejection(400, $"h value {h} on qubit {q} is out of range {info.HRange} with auto_scale off");
            var jr = info.ExtendedJRange ?? info.JRange;
            foreach (var ((u, v), j) in problem.Quadratic)
                if (!jr.Contains(j)) throw new SimulatedQpuRejection(400, $"J value {j} on ({u},{v}) is out of range {jr} with auto_scale off");
        }
        double pt = prm.ContainsKey("programming_thermalization") ? Num(prm, "programming_thermalization") : spec.Timing.DefaultProgrammingThermalization;
        double rt = prm.ContainsKey("readout_thermalization") ? Num(prm, "readout_thermalization") : spec.Timing.DefaultReadoutThermalization;
        if (pt is < 0 or > 10000 || rt is < 0 or > 10000) throw new SimulatedQpuRejection(400, "thermalization times must be in [0, 10000] µs");
        bool ric = prm.ContainsKey("reduce_intersample_correlation") && Bool(prm, "reduce_intersample_correlation");
        foreach (var b in new[] { "fast_anneal", "flux_drift_compensation", "reinitialize_state" })
            if (prm.ContainsKey(b)) Bool(prm, b);
        CheckUnmodelled(prm, problem);
        double run = (anneal + rt) * reads + pt;
        if (run > spec.ProblemRunDurationRange.Max)
            throw new SimulatedQpuRejection(400, FormattableString.Invariant($"Upper limit on user-specified timing related parameters exceeded: {run:F0} > {spec.ProblemRunDurationRange.Max:F0}"));
        return new RunSettings(reads, anneal, mode == "raw", autoScale, pt, rt, ric);
    }

    /// <summary>The parameters the model ignores must still have the shape and ranges the solver publishes.</summary>
    private void CheckUnmodelled(JsonObject prm, QpuProblem problem)
    {
        int nq = Solver.NumQubits;
        double[] PerQubit(string k)
        {
            if (prm[k] is not JsonArray a || a.Count != nq || a.Any(x => !IsNumber(x)))
                throw new SimulatedQpuRejection(400, $"parameter '{k}' must be a list of {nq} numbers (one per qubit of num_qubits)");
            return a.Select(JsonNumbers.Double).ToArray();
        }
        if (prm.ContainsKey("anneal_offsets"))
        {
            var off = PerQubit("anneal_offsets");
            for (int i = 0; i < off.Length; i++)
                if (!Spec.AnnealOffsetRange.Contains(off[i]))
                    throw new SimulatedQpuRejection(400, $"anneal_offsets[{i}] = {off[i]} is outside anneal_offset_ranges[{i}] {Spec.AnnealOffsetRange}");
        }
        if (prm.ContainsKey("flux_biases")) PerQubit("flux_biases");
        if (prm.ContainsKey("initial_state"))
        {
            var init = PerQubit("initial_state");
            var allowed = problem.Type == QpuProblem.Ising ? new double[] { -1, 1, 3 } : [0, 1, 3];
            if (init.Any(v => !allowed.Contains(v)))
                throw new SimulatedQpuRejection(400, $"initial_state values must be {string.Join(", ", allowed)} (3 for unused qubits) for a {problem.Type} problem");
        }
        if (prm.ContainsKey("h_gain_schedule"))
        {
            var pts = Schedule(prm, "h_gain_schedule", Spec.MaxHGainSchedulePoints);
            foreach (var (_, g) in pts)
                if (!Spec.HGainScheduleRange.Contains(g))
                    throw new SimulatedQpuRejection(400, $"h_gain_schedule gain {g} is outside h_gain_schedule_range {Spec.HGainScheduleRange}");
        }
        if (prm.ContainsKey("anneal_schedule")) Schedule(prm, "anneal_schedule", Spec.MaxAnnealSchedulePoints + 1);
    }

    private static List<(double T, double V)> Schedule(JsonObject prm, string k, int maxPoints)
    {
        if (prm[k] is not JsonArray a || a.Count < 2 || a.Any(pt => pt is not JsonArray { Count: 2 } x || !IsNumber(x[0]) || !IsNumber(x[1])))
            throw new SimulatedQpuRejection(400, $"parameter '{k}' must be a list of at least two [t, value] number pairs");
        if (a.Count > maxPoints) throw new SimulatedQpuRejection(400, $"parameter '{k}' has {a.Count} points; this solver allows at most {maxPoints}");
        var pts = a.Select(pt => (JsonNumbers.Double(pt![0]), JsonNumbers.Double(pt[1]))).ToList();
        for (int i = 1; i < pts.Count; i++)
            if (!(pts[i].Item1 > pts[i - 1].Item1)) throw new SimulatedQpuRejection(400, $"parameter '{k}': times must increase (point {i})");
        return pts;
    }

    private static bool IsNumber(JsonNode? n) => n is JsonValue v && (v.TryGetValue(out double _) || v.TryGetValue(out long _));

    private static double Num(JsonObject o, string k) =>
        o[k] is JsonValue v && v.TryGetValue(out double d) ? d
        : throw new SimulatedQpuRejection(400, $"parameter '{k}' must be a number, not {Describe(o[k])}");

    private static int Int(JsonObject o, string k) =>
        o[k] is JsonValue v && v.TryGetValue(out double d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue ? (int)d
        : throw new SimulatedQpuRejection(400, $"parameter '{k}' must be an integer, not {Describe(o[k])}");

    private static bool Bool(JsonObject o, string k) =>
        o[k] is JsonValue v && v.TryGetValue(out bool b) ? b
        : throw new SimulatedQpuRejection(400, $"parameter '{k}' must be true or false, not {Describe(o[k])}");

    internal static string Describe(JsonNode? n) => n is null ? "null" : n.ToJsonString() is { Length: <= 40 } s ? s : n.GetValueKind().ToString().ToLowerInvariant();

    /// <summary>
    /// The content key of one run: the problem as encoded for this solver (type, lin, quad; the offset does not
    /// change the samples) and its normalised parameters. Two submissions with the same key get the same answer.
    /// </summary>
    public ulong ContentHash(QpuProblem problem, RunSettings s)
    {
        var data = QpProblemData.Encode(Solver, problem);
        var h = new XxHash64(unchecked((long)_model.Seed));
        void Add(string text) { h.Append(Encoding.UTF8.GetBytes(text)); h.Append([0]); }
        Add(problem.Type);
        Add(data.Lin);
        Add(data.Quad);
        Add(FormattableString.Invariant($"{s.NumReads}|{s.AnnealTime:R}|{s.Raw}|{s.AutoScale}|{s.ProgrammingThermalization:R}|{s.ReadoutThermalization:R}|{s.ReduceIntersampleCorrelation}"));
        return h.GetCurrentHashAsUInt64();
    }

    /// <summary>One run on the model: control errors, sampling at β_hw, the raw or histogram answer and its timing.</summary>
    public async Task<QpAnswer> SampleAnswerAsync(QpuProblem prob, RunSettings settings, CancellationToken ct)
    {
        var info = Solver;
        ulong key = ContentHash(prob, settings);
        var active = prob.ActiveQubits();
        int n = active.Length;

        // The programmed model: the submitted problem in its own vartype, over active qubits in ascending order.
        var exact = new BqmBuilder(prob.Vartype);
        foreach (int q in active) exact.AddVariable(q, prob.Linear.GetValueOrDefault(q));
        foreach (var ((u, v), j) in prob.Quadratic) exact.AddInteraction(u, v, j);
        var model = exact.Build();
        var spin = model.ToSpin();

        // SAPI converts QUBO to Ising, auto-scales if asked (ranges only; per-qubit coupling limits are not modelled),
        // then the hardware adds integrated control errors drawn once per programming.
        double scale = settings.AutoScale ? AutoScaleFactor(spin, info) : 1;
        var noise = SeedPolicy.For(_model.Seed, unchecked((long)key), 0, SeedPolicy.Purpose.Noise);
        var h = new double[spin.NumVariables];
        for (int i = 0; i < h.Length; i++) h[i] = spin.Linear[i] / scale + _model.SigmaH * noise.NextGaussian();
        var qb = new double[spin.NumInteractions];
        for (int k = 0; k < qb.Length; k++) qb[k] = spin.QuadraticBias[k] / scale + _model.SigmaJ * noise.NextGaussian();
        var hardware = Bqm.FromArrays(Vartype.Spin, h, spin.QuadraticU.ToArray(), spin.QuadraticV.ToArray(), qb, 0, spin.Labels.ToArray());

        int reads = settings.NumReads;
        var request = new SampleRequest(reads, _model.BetaHw, SeedPolicy.Derive(_model.Seed, unchecked((long)key), 0, SeedPolicy.Purpose.Sample));
        var drawn = await _model.Sampler.SampleAsync(hardware, request, ct).ConfigureAwait(false);
        if (drawn.Vartype != Vartype.Spin) drawn = drawn.ChangeVartype(Vartype.Spin);

        // Expand the sampler's rows (which may already be aggregated) into per-read rows in active order.
        var cols = new int[n];
        for (int i = 0; i < n; i++) cols[i] = drawn.ColumnOf(model.Labels[i]);
        var rows = new List<sbyte[]>(reads);
        for (int r = 0; r < drawn.NumRows && rows.Count < reads; r++)
        {
            var src = drawn.Row(r);
            var row = new sbyte[n];
            for (int i = 0; i < n; i++)
            {
                sbyte s = src[cols[i]];
                row[i] = prob.Vartype == Vartype.Spin ? s : (sbyte)((s + 1) / 2);
            }
            for (int c = 0; c < drawn.NumOccurrences[r] && rows.Count < reads; c++) rows.Add(row);
        }
        if (rows.Count != reads) throw new InvalidOperationException($"the sampler returned {rows.Count} reads, {reads} were asked for");

        // QPU energies are of the submitted problem without offset (the client adds it: dwave-cloud-client _patch_offset).
        var noOffset = model.WithLinear(model.Linear.ToArray(), 0);
        List<(sbyte[] Row, double E, int Count)> outRows;
        if (settings.Raw) outRows = rows.Select(r => (r, noOffset.Energy(r), 1)).ToList();
        else
        {
            var hist = new Dictionary<string, (sbyte[] Row, double E, int Count)>();
            var order = new List<string>();
            foreach (var r in rows)
            {
                string k = Convert.ToBase64String(MemoryMarshal.AsBytes(r.AsSpan()));
                if (hist.TryGetValue(k, out var e)) hist[k] = (e.Row, e.E, e.Count + 1);
                else { hist[k] = (r, noOffset.Energy(r), 1); order.Add(k); }
            }
            outRows = order.Select(k => hist[k]).OrderBy(x => x.E).ToList();
        }
        var timing = Timing(Spec, n, settings.NumReads, settings.AnnealTime, settings.ProgrammingThermalization,
            settings.ReadoutThermalization, settings.ReduceIntersampleCorrelation);
        var solutions = new sbyte[outRows.Count * n];
        for (int r = 0; r < outRows.Count; r++) outRows[r].Row.CopyTo(solutions.AsSpan(r * n));
        return new QpAnswer(info.NumQubits, active, outRows.Select(x => x.E).ToArray(), outRows.Select(x => x.Count).ToArray(),
            !settings.Raw, solutions, prob.Vartype, timing);
    }

    /// <summary>Ocean SDK solver_parameters.rst (auto_scale): divide by the largest ratio of a bias to its range end.</summary>
    private static double AutoScaleFactor(Bqm spin, SolverInfo info)
    {
        var jr = info.ExtendedJRange ?? info.JRange;
        double f = 0;
        foreach (double h in spin.Linear) f = Math.Max(f, Math.Max(h / info.HRange.Max, h / info.HRange.Min));
        foreach (double j in spin.QuadraticBias) f = Math.Max(f, Math.Max(j / jr.Max, j / jr.Min));
        return f > 0 ? f : 1;
    }

    /// <summary>
    /// The published timing decomposition (Ocean SDK operation_timing.rst): qpu_access_time = programming + sampling,
    /// sampling = reads · (anneal + readout + delay [+ readout thermalization / decorrelation]), readout from the
    /// solver's own readout model for this many active qubits.
    /// </summary>
    public static Dictionary<string, double> Timing(SimulatedSolverSpec spec, int activeQubits, int reads, double annealTime,
        double programmingThermalization, double readoutThermalization, bool reduceIntersampleCorrelation)
    {
        var est = AccessTimeEstimator.Estimate(spec.Timing, Math.Max(1, activeQubits),
            new TimingParameters(reads, annealTime, programmingThermalization, readoutThermalization, ReduceIntersampleCorrelation: reduceIntersampleCorrelation));
        return new Dictionary<string, double>
        {
            ["qpu_sampling_time"] = Round(est.SamplingTime),
            ["qpu_anneal_time_per_sample"] = annealTime,
            ["qpu_readout_time_per_sample"] = Round(est.ReadoutTimePerSample),
            ["qpu_access_time"] = Round(est.QpuAccessTime),
            ["qpu_access_overhead_time"] = spec.AccessOverheadTime,
            ["qpu_programming_time"] = Round(est.ProgrammingTime),
            ["qpu_delay_time_per_sample"] = spec.Timing.QpuDelayTimePerSample,
            ["total_post_processing_time"] = 0,
            ["post_processing_overhead_time"] = 0,
        };
    }

    // SAPI reports timing to 1/100 µs.
    private static double Round(double x) => Math.Round(x, 2);
}
