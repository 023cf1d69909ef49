using Akka.Configuration;
using QaActors.Sampling;

namespace QaActors.DWave.Simulator;

/// <summary>
/// Reads the <c>sapi-sim</c> block of a HOCON file (hocon/sapi-sim.conf documents every key) into
/// <see cref="SapiSimulatorOptions"/> and applies its <c>faults</c> block to a <see cref="SimulatorFaults"/>.
/// The same fault keys are accepted at runtime by <c>POST /sapi/v2/_sim/faults</c> (HOCON or JSON body).
/// </summary>
public static class SapiSimConfig
{
    public const string Root = "sapi-sim";

    /// <summary>hocon/sapi-sim.conf as shipped (embedded in this assembly).</summary>
    public static string DefaultHocon
    {
        get
        {
            using var s = typeof(SapiSimConfig).Assembly.GetManifestResourceStream("sapi-sim.conf")
                ?? throw new InvalidOperationException("the embedded sapi-sim.conf is missing from the build");
            using var r = new StreamReader(s);
            return r.ReadToEnd();
        }
    }

    /// <summary>
    /// The CLI's one call: the given HOCON (or the shipped defaults) layered over the shipped defaults, Pegasus/Zephyr
    /// graphs from QaActors.DWave.Topology, and the <see cref="HardwareAnnealer"/> configured by <c>sapi-sim.anneal</c>.
    /// </summary>
    public static SapiSimulatorOptions LoadDefault(string? hocon = null, Action<string>? log = null)
    {
        var merged = hocon is null ? Parse(DefaultHocon) : Parse(hocon).WithFallback(Parse(DefaultHocon));
        var a = merged.GetConfig(Root);
        int threads = a.GetInt("anneal.threads", 0);
        if (threads < 0) throw new FormatException($"sapi-sim.anneal.threads = {threads}: give 0 (every core) or a thread count of at least 1");
        var annealer = new HardwareAnnealer(a.GetInt("anneal.sweeps", 1000), a.GetDouble("anneal.hot-fraction", 0.01), threads == 0 ? Environment.ProcessorCount : threads);
        return Load(merged, LatticeGraphSource.Instance, annealer, log);
    }

    public static Akka.Configuration.Config Parse(string hocon)
    {
        try { return ConfigurationFactory.ParseString(hocon); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new FormatException($"sapi-sim configuration is not valid HOCON: {e.Message}", e);
        }
    }

    /// <summary>
    /// Options from HOCON. Solvers come from <c>sapi-sim.solvers.*</c>: each entry names a topology
    /// (<c>pegasus</c>/<c>zephyr</c>/anything the graph source knows) and shape; <paramref name="graphs"/> builds it.
    /// </summary>
    public static SapiSimulatorOptions Load(string hocon, ISolverGraphSource graphs, ISampler sampler, Action<string>? log = null) =>
        Load(Parse(hocon), graphs, sampler, log);

    public static SapiSimulatorOptions Load(Akka.Configuration.Config all, ISolverGraphSource graphs, ISampler sampler, Action<string>? log = null)
    {
        if (!all.HasPath(Root)) throw new FormatException($"sapi-sim configuration has no '{Root}' block");
        var c = all.GetConfig(Root);
        var solvers = new List<SimulatedSolverSpec>();
        if (c.HasPath("solvers"))
        {
            foreach (var key in c.GetConfig("solvers").Root.GetObject().Items.Keys)
            {
                var s = c.GetConfig($"solvers.{key}");
                if (!s.GetBoolean("enabled", true)) continue;
                string topo = s.GetString("topology", "pegasus");
                var shape = s.GetIntList("shape").ToArray();
                var graph = graphs.Build(topo, shape);
                var dead = s.HasPath("dead-qubits") ? s.GetIntList("dead-qubits").ToList() : new List<int>();
                double frac = s.GetDouble("dead-qubit-fraction", 0);
                if (frac > 0) dead.AddRange(graph.ChooseDead(frac, (ulong)s.GetLong("dead-qubit-seed", 7)));
                graph = graph.WithoutQubits(dead);
                string name = s.GetString("name", key);
                var spec = topo == "zephyr" ? SimulatedSolverSpec.Advantage2Like(name, graph) : SimulatedSolverSpec.AdvantageLike(name, graph);
                solvers.Add(spec);
            }
        }
        if (solvers.Count == 0) throw new FormatException("sapi-sim.solvers defines no enabled solver");
        var opts = new SapiSimulatorOptions
        {
            Host = c.GetString("host", "127.0.0.1"),
            Port = c.GetInt("port", 0),
            Tokens = c.GetStringList("tokens").ToArray(),
            Solvers = solvers,
            Sampler = sampler,
            BetaHw = c.GetDouble("beta-hw", 16),
            SigmaH = c.GetDouble("control-error.sigma-h", 0.02),
            SigmaJ = c.GetDouble("control-error.sigma-j", 0.01),
            Seed = (ulong)c.GetLong("seed", 1),
            MaxConcurrentProblems = c.GetInt("max-concurrent-problems", 2),
            Log = log,
        };
        opts.Validate();
        return opts;
    }

    /// <summary>Applies a <c>faults { … }</c> block (the block itself, or a document containing sapi-sim.faults).</summary>
    public static void ApplyFaults(SimulatorFaults faults, string hocon)
    {
        var all = Parse(hocon);
        var f = all.HasPath($"{Root}.faults") ? all.GetConfig($"{Root}.faults") : all.HasPath("faults") ? all.GetConfig("faults") : all;
        ApplyFaults(faults, f);
    }

    public static void ApplyFaults(SimulatorFaults faults, Akka.Configuration.Config f)
    {
        if (f.GetBoolean("reset", false)) faults.Reset();
        if (f.HasPath("outage"))
        {
            string mode = f.GetString("outage.mode", "none");
            var m = mode switch
            {
                "none" => OutageMode.None,
                "http-503" => OutageMode.Http503,
                "refuse" => OutageMode.Refuse,
                _ => throw new FormatException($"faults.outage.mode '{mode}' is not one of none, http-503, refuse"),
            };
            if (m == OutageMode.None) faults.ClearOutage();
            else
            {
                TimeSpan? ra = f.HasPath("outage.retry-after") ? f.GetTimeSpan("outage.retry-after") : null;
                faults.SetOutage(m, f.GetTimeSpan("outage.duration", TimeSpan.FromSeconds(10)), f.GetTimeSpan("outage.start-after", TimeSpan.Zero), ra);
            }
        }
        if (f.HasPath("rate-limit"))
            faults.RateLimitNext(f.GetInt("rate-limit.requests", 0), f.GetTimeSpan("rate-limit.retry-after", TimeSpan.FromSeconds(1)), Method(f, "rate-limit.method"));
        if (f.HasPath("transient-5xx"))
            faults.Fail5xxNext(f.GetInt("transient-5xx.requests", 0), Method(f, "transient-5xx.method"));
        if (f.HasPath("slow-answers"))
            faults.AnswerDelay = f.GetTimeSpan("slow-answers", TimeSpan.Zero);
        if (f.HasPath("fail-problems"))
            faults.FailNextProblems(f.GetInt("fail-problems.count", 0), f.HasPath("fail-problems.message") ? f.GetString("fail-problems.message") : null);
        if (f.HasPath("lose-answers"))
        {
            string how = f.GetString("lose-answers.mode", "drop");
            if (how is not ("drop" or "http-503")) throw new FormatException($"faults.lose-answers.mode '{how}' is not one of drop, http-503");
            faults.LoseNextAnswers(f.GetInt("lose-answers.count", 0), f.GetTimeSpan("lose-answers.for", TimeSpan.FromSeconds(10)), how == "drop");
        }
        if (f.HasPath("offline-solvers"))
            foreach (var s in f.GetStringList("offline-solvers")) faults.SetSolverOffline(s, true);
        if (f.HasPath("online-solvers"))
            foreach (var s in f.GetStringList("online-solvers")) faults.SetSolverOffline(s, false);
    }

    private static string? Method(Akka.Configuration.Config f, string path)
    {
        string m = f.GetString(path, "any");
        return m.Equals("any", StringComparison.OrdinalIgnoreCase) ? null : m.ToUpperInvariant();
    }
}
