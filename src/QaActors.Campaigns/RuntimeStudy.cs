using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using QaActors.DWave.Embedding;
using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;
using QaActors.DWave.Topology;
using QaActors.Learning;
using QaActors.Sampling;
using ScottPlot;

namespace QaActors.Campaigns;

/// <summary>One model size of Fig. 5 (seconds; null where a scheme does not apply, e.g. the QPU beyond its graph).</summary>
public sealed record RuntimeRow(int Size, bool Measured, double MlpSeconds, double GibbsSeconds, int? Qubits,
    double? QpuAccessSeconds, double? QpuProgrammingSeconds, double? SimulatorSeconds, int? GibbsReadsMeasured);

/// <summary>
/// The paper's Sec. 5.3 (Fig. 5) with this project's kernels (docs/campaigns.md, "The runtime study"): for an N-1 model
/// (N visible nodes, one hidden unit) the MLP's product W·x, the EBM's block Gibbs sampling of the N + 1 spins (the
/// Classical-2 sampler, reads × sweeps), and the QPU: its access time from the solver's published timing model
/// (Advantage 4.1, <see cref="AccessTimeEstimator"/>) for the qubits the N-1 star occupies on Pegasus P16, and the
/// simulator's measured time to sample the embedded problem. Sizes above the measuring limit are extrapolated
/// linearly in N from the largest measured size (both classical costs are linear in N, and were measured so).
/// </summary>
public sealed class RuntimeStudy
{
    /// <summary>Inverse temperature of the simulator's annealer (hocon/sapi-sim.conf's β_hw).</summary>
    public const double SimulatorBetaHw = 16;

    public RuntimeSpec Spec { get; }
    public IReadOnlyList<RuntimeRow> Rows { get; }
    public int MaxPegasus { get; }
    public int MaxZephyr { get; }
    private RuntimeStudy(RuntimeSpec spec, IReadOnlyList<RuntimeRow> rows, int maxPegasus, int maxZephyr)
    {
        Spec = spec;
        Rows = rows;
        MaxPegasus = maxPegasus;
        MaxZephyr = maxZephyr;
    }

    /// <param name="pegasus">The QPU graph of the timing model (default Pegasus P16, Advantage 4.1's); tests pass smaller ones.</param>
    /// <param name="zephyr">The Advantage2 graph whose capacity is marked (default Zephyr Z15, the paper's Appendix B).</param>
    public static RuntimeStudy Run(RuntimeSpec spec, CancellationToken ct = default, Action<string>? log = null, Graph? pegasus = null, Graph? zephyr = null)
    {
        pegasus ??= Pegasus.Create(16);
        zephyr ??= Zephyr.Create(15, 4);
        int maxP = LargestStar(pegasus, ct);
        log?.Invoke($"largest N-1 star on pegasus P16: N = {maxP}");
        int maxZ = LargestStar(zephyr, ct);
        log?.Invoke($"largest N-1 star on zephyr Z15: N = {maxZ}");
        var rows = new List<RuntimeRow>();
        RuntimeRow? lastMeasured = null;
        foreach (int n in spec.Sizes())
        {
            ct.ThrowIfCancellationRequested();
            bool measure = n <= spec.MeasureMaxSize;
            double mlp, gibbs;
            if (measure)
            {
                mlp = Median(spec.Repeats, () => MlpProduct(n));
                var star = StarProblem.Create(n + 1, 12345);
                var sampler = new GibbsSampler(new GibbsOptions(Sweeps: spec.Sweeps, BurnIn: Math.Min(100, spec.Sweeps - 1)));
                // Each read is its own chain of all the sweeps, run one after the other, so R reads cost R times one:
                // large models are measured with fewer reads (about 10^5 spins x reads) and scaled to R.
                int gibbsReads = (int)Math.Clamp(100_000L / n, 1, spec.Reads);
                gibbs = Median(spec.Repeats, () => Time(() => sampler.SampleAsync(star, new SampleRequest(gibbsReads, 1, 7), ct).GetAwaiter().GetResult()))
                    * spec.Reads / gibbsReads;
            }
            else
            {
                var m = lastMeasured ?? throw new ArgumentException("measure-max-size is below the smallest size; at least one size must be measured");
                mlp = m.MlpSeconds * n / m.Size;
                gibbs = m.GibbsSeconds * n / m.Size;
            }
            int? qubits = null;
            double? access = null, programming = null, sim = null;
            if (n <= maxP)
            {
                var emb = StarEmbedding(n, pegasus) ?? throw new InvalidOperationException($"the N-1 star of N = {n} did not embed although N = {maxP} did");
                qubits = emb.TotalQubits;
                var est = AccessTimeEstimator.Estimate(ProblemTimingData.Advantage41, emb.TotalQubits, new TimingParameters(spec.Reads));
                access = est.QpuAccessTime / 1e6;
                programming = est.ProgrammingTime / 1e6;
                if (measure)
                {
                    var target = EmbeddedProblem.Create(StarProblem.Create(n + 1, 12345), emb, pegasus).Target;
                    var annealer = new HardwareAnnealer();
                    sim = Median(spec.Repeats, () => Time(() => annealer.SampleAsync(target, new SampleRequest(spec.Reads, SimulatorBetaHw, 7), ct).GetAwaiter().GetResult()));
                }
            }
            var row = new RuntimeRow(n, measure, mlp, gibbs, qubits, access, programming, sim, measure ? (int)Math.Clamp(100_000L / n, 1, spec.Reads) : null);
            if (measure) lastMeasured = row;
            rows.Add(row);
            log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"N = {n}: MLP {mlp:G3} s, Gibbs {gibbs:G3} s{(access is double a ? $", QPU access {a:G3} s" : "")}{(measure ? "" : " (extrapolated)")}"));
        }
        return new RuntimeStudy(spec, rows, maxP, maxZ);
    }

    /// <summary>The embedding of the N-1 star (hub = the hidden unit, label 0; leaves = the visible nodes) or null.</summary>
    public static MinorEmbedding? StarEmbedding(int n, Graph graph) =>
        BipartiteEmbedder.TryFind(Enumerable.Range(1, n).ToArray(), [0], graph, new BipartiteOptions { Tries = 2 }, out _);

    /// <summary>The largest N whose N-1 star the project's constructive embedder places on the graph (bisection).</summary>
    public static int LargestStar(Graph graph, CancellationToken ct = default)
    {
        int lo = 1, hi = graph.NumNodes - 1; // lo embeds; find the largest such
        if (StarEmbedding(lo, graph) is null) return 0;
        while (lo < hi)
        {
            ct.ThrowIfCancellationRequested();
            int mid = lo + (hi - lo + 1) / 2;
            if (StarEmbedding(mid, graph) is not null) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    /// <summary>Seconds of one product W·x for one example of the N-1 MLP (the paper's "matrix multiplication").</summary>
    private static double MlpProduct(int n)
    {
        var p = MlpParameters.InitEbm(n, 1, 1, 3);
        var x = new float[n];
        var rng = new Rng(5);
        for (int i = 0; i < n; i++) x[i] = (float)rng.NextDouble();
        var a = new float[1];
        Numerics.HiddenPreActivation(p, x, 1, a); // first call outside the timing: JIT
        // Small products take nanoseconds: repeat until the timing is well above the clock's resolution.
        int reps = Math.Max(1, (int)Math.Min(1_000_000, 20_000_000L / n));
        var w = Stopwatch.StartNew();
        for (int r = 0; r < reps; r++) Numerics.HiddenPreActivation(p, x, 1, a);
        return w.Elapsed.TotalSeconds / reps;
    }

    private static double Time(Action f)
    {
        var w = Stopwatch.StartNew();
        f();
        return w.Elapsed.TotalSeconds;
    }

    private static double Median(int repeats, Func<double> f)
    {
        f(); // warm-up (JIT, caches), not counted
        var t = Enumerable.Range(0, Math.Max(1, repeats)).Select(_ => f()).Order().ToArray();
        return t[t.Length / 2];
    }

    public string Csv()
    {
        string N(double? v) => v is double d ? d.ToString("R", CultureInfo.InvariantCulture) : "";
        var sb = new StringBuilder("size,measured,mlp_seconds,gibbs_seconds,qubits_pegasus16,qpu_access_seconds,qpu_programming_seconds,simulator_sampling_seconds,gibbs_reads_measured\n");
        foreach (var r in Rows)
            sb.Append(CultureInfo.InvariantCulture, $"{r.Size},{(r.Measured ? "yes" : "extrapolated")},{N(r.MlpSeconds)},{N(r.GibbsSeconds)},{r.Qubits},{N(r.QpuAccessSeconds)},{N(r.QpuProgrammingSeconds)},{N(r.SimulatorSeconds)},{r.GibbsReadsMeasured}\n");
        sb.Append(CultureInfo.InvariantCulture, $"# largest N-1 star embedded: pegasus P16 N = {MaxPegasus}, zephyr Z15 N = {MaxZephyr}; Gibbs {Spec.Reads} reads x {Spec.Sweeps} sweeps (large sizes measured with fewer reads and scaled, column gibbs_reads_measured); QPU: Advantage 4.1 timing model, {Spec.Reads} reads\n");
        return sb.ToString();
    }

    public JsonObject ToJson() => new()
    {
        ["max_size_pegasus16"] = MaxPegasus,
        ["max_size_zephyr15"] = MaxZephyr,
        ["reads"] = Spec.Reads,
        ["sweeps"] = Spec.Sweeps,
        ["measure_max_size"] = Spec.MeasureMaxSize,
        ["rows"] = new JsonArray(Rows.Select(r => (JsonNode)new JsonObject
        {
            ["size"] = r.Size, ["measured"] = r.Measured, ["mlp_seconds"] = r.MlpSeconds, ["gibbs_seconds"] = r.GibbsSeconds,
            ["qubits"] = r.Qubits, ["qpu_access_seconds"] = r.QpuAccessSeconds, ["qpu_programming_seconds"] = r.QpuProgrammingSeconds,
            ["simulator_sampling_seconds"] = r.SimulatorSeconds, ["gibbs_reads_measured"] = r.GibbsReadsMeasured,
        }).ToArray()),
    };

    /// <summary>Writes runtime.csv and fig5.png (log-log) into <paramref name="dir"/>.</summary>
    public IReadOnlyList<string> Write(string dir)
    {
        Directory.CreateDirectory(dir);
        CampaignReport.WriteAtomically(Path.Combine(dir, "runtime.csv"), Csv());
        var plot = new Plot();
        plot.Title($"Runtime against model size (N visible nodes, 1 hidden; {Spec.Reads} reads)");
        plot.XLabel("model size N (log scale)");
        plot.YLabel("runtime in s (log scale)");
        double[] L(IEnumerable<double> v) => v.Select(Math.Log10).ToArray();
        void Line(string label, IReadOnlyList<RuntimeRow> rows, Func<RuntimeRow, double> y, Color color, bool dashed = false)
        {
            if (rows.Count == 0) return;
            var s = plot.Add.Scatter(L(rows.Select(r => (double)r.Size)), L(rows.Select(y)));
            s.LegendText = label;
            s.Color = color;
            s.MarkerSize = 5;
            if (dashed) s.LinePattern = LinePattern.Dashed;
        }
        var measured = Rows.Where(r => r.Measured).ToList();
        var extrapolated = Rows.Where(r => !r.Measured || r == measured.LastOrDefault()).ToList();
        Line("MLP product W·x (measured)", measured, r => r.MlpSeconds, Colors.Blue);
        Line("EBM block Gibbs (measured)", measured, r => r.GibbsSeconds, Colors.Green);
        if (extrapolated.Count > 1)
        {
            Line("MLP (extrapolated, linear in N)", extrapolated, r => r.MlpSeconds, Colors.Blue, dashed: true);
            Line("EBM Gibbs (extrapolated, linear in N)", extrapolated, r => r.GibbsSeconds, Colors.Green, dashed: true);
        }
        var qpu = Rows.Where(r => r.QpuAccessSeconds is not null).ToList();
        Line("QPU access time (Advantage 4.1 timing model)", qpu, r => r.QpuAccessSeconds!.Value, Colors.Red);
        var simRows = Rows.Where(r => r.SimulatorSeconds is not null).ToList();
        Line("qa sapi-sim sampling (measured)", simRows, r => r.SimulatorSeconds!.Value, Colors.Orange);
        if (qpu.Count > 0)
        {
            double avg = qpu.Average(r => r.QpuAccessSeconds!.Value);
            var h = plot.Add.HorizontalLine(Math.Log10(avg));
            h.LinePattern = LinePattern.Dashed;
            h.Color = Colors.Red.WithAlpha(0.6);
            h.LegendText = $"QPU average access time {avg.ToString("G3", CultureInfo.InvariantCulture)} s";
        }
        foreach (var (n, label, color) in new[] { (MaxPegasus, "largest size on Pegasus P16", Colors.Red), (MaxZephyr, "largest size on Zephyr Z15", Colors.Purple) })
        {
            if (n <= 0) continue;
            var v = plot.Add.VerticalLine(Math.Log10(n));
            v.Color = color;
            v.LegendText = $"{label}: N = {n}";
        }
        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = v => Math.Pow(10, v).ToString("G3", CultureInfo.InvariantCulture),
        };
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = v => Math.Pow(10, v).ToString("G3", CultureInfo.InvariantCulture),
        };
        plot.ShowLegend(Edge.Bottom);
        CampaignFigures.Save(plot, Path.Combine(dir, "fig5.png"), 900, 720);
        return ["runtime.csv", "fig5.png"];
    }
}
