using QaActors.DWave.Composites;
using QaActors.DWave.Sapi;
using QaActors.DWave.Structured;
using QaActors.Sampling;

namespace QaActors.DWave.Tests;

/// <summary>The composed "qpu" sampler against the simulator over loopback HTTP.</summary>
public class SapiQpuSamplerTests
{
    private static Bqm Star(int k, double hubBias, double leafBias, double coupling)
    {
        // Variables 0..k-1 leaves, k the hub (docs/math.md orders q = (k, y)); BINARY like the EBM problems.
        var b = new BqmBuilder(Vartype.Binary);
        for (int i = 0; i < k; i++) b.AddVariable(i, leafBias * (i % 2 == 0 ? 1 : -1));
        b.AddVariable(k, hubBias);
        for (int i = 0; i < k; i++) b.AddInteraction(i, k, coupling * (i % 3 == 0 ? -1 : 1));
        return b.Build();
    }

    private static QpuSampler Qpu(SapiClient c, SolverInfo solver, QpuSamplerOptions o, double deadlineSeconds = 30) =>
        new(new SapiStructuredSampler(c, solver, new SapiCallOptions { Deadline = TimeSpan.FromSeconds(deadlineSeconds) }), o);

    [Fact]
    public async Task SamplesTheLogicalBoltzmannDistribution_WithTeffMatchingBetaHw()
    {
        // β_hw = 16 and T = 16: the logical model is sampled at β = 1 (docs/math.md, Temperature; the paper's T = 16).
        await using var hx = await SimulatorHarness.StartAsync(sigmaH: 0, sigmaJ: 0, betaHw: 16, sweeps: 300);
        using var c = hx.Client();
        var solver = await c.GetSolverAsync(SimulatorHarness.Solver);
        var qpu = Qpu(c, solver, new QpuSamplerOptions { Temperature = new QpuTemperature(16) });
        var problem = Star(3, 0.5, 0.8, 1.2);
        var set = await qpu.SampleAsync(problem, new SampleRequest(4000, 1, 7));
        Assert.Equal(problem.Labels.ToArray(), set.Variables.ToArray());
        Assert.Equal(Vartype.Binary, set.Vartype);
        Assert.Equal(4000, set.TotalReads);
        // Exact Boltzmann over the 16 states at β = 1 vs. the empirical distribution: total variation distance.
        int n = problem.NumVariables;
        var exact = new double[1 << n];
        var state = new sbyte[n];
        double z = 0;
        for (int s = 0; s < exact.Length; s++)
        {
            for (int i = 0; i < n; i++) state[i] = (sbyte)((s >> i) & 1);
            exact[s] = Math.Exp(-problem.Energy(state));
            z += exact[s];
        }
        var seen = new double[exact.Length];
        for (int r = 0; r < set.NumRows; r++)
        {
            var row = set.Row(r);
            int s = 0;
            for (int i = 0; i < n; i++) s |= row[i] << i;
            seen[s] += set.NumOccurrences[r] / (double)set.TotalReads;
        }
        double tv = 0.5 * Enumerable.Range(0, exact.Length).Sum(s => Math.Abs(exact[s] / z - seen[s]));
        // 4000 reads over 16 states: sampling noise in TV is about 0.03; a sampler at β = 16 on the logical model
        // (T ignored) gives TV > 0.3 here.
        Assert.True(tv < 0.08, $"total variation {tv:F3}");
        Assert.Equal(0, set.Info.Properties["clipped"]);
        Assert.True(set.Info.Timing["qpu_access_time"] > 0);
        Assert.True(set.Info.Notes.ContainsKey("problem_id"));
        Assert.InRange(set.Info.Properties["chain_break_fraction"], 0, 0.05);
        // β estimated on the programmed (scaled) problem: about β_hw = 16; on the model itself about 1.
        Assert.InRange(set.Info.Properties["beta_hardware_estimate"], 10, 24);
        Assert.InRange(set.Info.Properties["beta_model_estimate"], 10.0 / 16, 24.0 / 16);
        Assert.Equal(1.0 / 16, set.Info.Properties["problem_scale"]);
        Assert.Equal("qpu", set.Info.Sampler);
    }

    [Fact]
    public async Task EmbeddingIsReusedAcrossExamples_AndChainsAreUsedWhenDegreeExceedsTheGraph()
    {
        await using var hx = await SimulatorHarness.StartAsync(sweeps: 100);
        using var c = hx.Client();
        var solver = await c.GetSolverAsync(SimulatorHarness.Solver);
        var qpu = Qpu(c, solver, new QpuSamplerOptions());
        // A star with 10 leaves on a degree-8 kings graph needs a hub chain.
        var a = Star(10, 0.1, 0.2, 0.5);
        var b = Star(10, -0.3, 0.1, 0.5);
        var la = await qpu.LayoutAsync(a, 1);
        var e1 = la.Tiles[0];
        Assert.Same(e1, (await qpu.LayoutAsync(b, 1)).Tiles[0]);
        Assert.True(e1.MaxChainLength >= 2);
        var set = await qpu.SampleAsync(b, new SampleRequest(50, 1, 3));
        Assert.Equal(50, set.TotalReads);
        Assert.Contains("chain", set.Info.Notes["embedding"]);
        Assert.True(set.Info.Properties["chain_strength"] > 0);
    }

    [Fact]
    public async Task AnOutageDuringSampling_IsATypedError_NotAHang()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client(retry: SimulatorHarness.Fast with { MaxElapsed = TimeSpan.FromSeconds(1) });
        var solver = await c.GetSolverAsync(SimulatorHarness.Solver);
        var qpu = Qpu(c, solver, new QpuSamplerOptions(), deadlineSeconds: 2);
        hx.Sim.Faults.SetOutage(QaActors.DWave.Simulator.OutageMode.Http503, TimeSpan.FromSeconds(30));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<SapiException>(() => qpu.SampleAsync(Star(3, 0.1, 0.1, 0.1), new SampleRequest(10, 1, 1)));
        Assert.Equal(SapiErrorKind.Transient, e.Kind);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task SampleMany_TilesCopiesIntoFewCalls_EachWithItsOwnLinearTerms_AndSharesTheAccessTime()
    {
        await using var hx = await SimulatorHarness.StartAsync(sweeps: 200);
        using var c = hx.Client();
        var solver = await c.GetSolverAsync(SimulatorHarness.Solver);
        var qpu = Qpu(c, solver, new QpuSamplerOptions { MaxTiles = 3, Temperature = new QpuTemperature(1) });
        // One structure (a 2-variable ferromagnet), linear terms that pin each copy to a different state.
        Bqm Pinned(double h)
        {
            var b = new BqmBuilder(Vartype.Spin);
            b.AddVariable(0, h);
            b.AddVariable(1, h);
            b.AddInteraction(0, 1, -1);
            return b.Build();
        }
        var problems = new[] { Pinned(1), Pinned(-1), Pinned(1), Pinned(-1), Pinned(1) };
        Assert.Equal(3, (await qpu.LayoutAsync(problems[0], 3)).Copies);
        var sets = await qpu.SampleManyAsync(problems, problems.Select((_, i) => new SampleRequest(20, 1, 5 + (ulong)i)).ToArray());
        Assert.Equal(5, sets.Count);
        Assert.Equal(2, hx.Sim.ProblemCount); // 5 examples in calls of 3 and 2
        for (int i = 0; i < 5; i++)
        {
            sbyte expect = problems[i].Linear[0] > 0 ? (sbyte)-1 : (sbyte)1;
            Assert.Equal(new[] { expect, expect }, sets[i].Row(0).ToArray());
            Assert.True(sets[i].NumOccurrences[0] >= 18);
        }
        double total = sets.Sum(s => s.Info.Timing["qpu_access_time"]);
        Assert.Equal(hx.Sim.Usage(SimulatorHarness.Token).QpuAccessTimeMicroseconds, total, 3);
        Assert.Equal(3, sets[0].Info.Properties["tiles"]);
        Assert.Equal(2, sets[4].Info.Properties["tiles"]);
        var other = new BqmBuilder(Vartype.Spin);
        other.AddVariable(0, 1);
        await Assert.ThrowsAsync<ArgumentException>(() => qpu.SampleManyAsync([problems[0], other.Build()], [new SampleRequest(5, 1, 1), new SampleRequest(5, 1, 2)]));
    }

    [Fact]
    public async Task Star549_OnSimulatedAdvantageP16_EndToEnd()
    {
        // The EBM's per-example problem for M = 1: 548 hidden units and one output (docs/math.md), sampled with T = 16.
        var p16 = QaActors.DWave.Simulator.LatticeGraphSource.Instance.Build("pegasus", [16]);
        await using var sim = await QaActors.DWave.Simulator.SapiSimulator.StartAsync(new QaActors.DWave.Simulator.SapiSimulatorOptions
        {
            Tokens = ["tok"],
            Solvers = [QaActors.DWave.Simulator.SimulatedSolverSpec.AdvantageLike("Adv", p16)],
            Sampler = new QaActors.DWave.Simulator.HardwareAnnealer(100),
        });
        using var c = new SapiClient(new SapiClientOptions { Endpoint = sim.SapiEndpoint, Token = new QaActors.DWave.Config.SecretToken("tok") });
        var qpu = await QpuSampler.CreateAsync(c, "Adv", new QpuSamplerOptions { Temperature = new QpuTemperature(16), Call = new SapiCallOptions { Deadline = TimeSpan.FromSeconds(60) } });
        var rng = new Rng(11);
        var b = new BqmBuilder(Vartype.Binary);
        for (int j = 0; j < 548; j++) b.AddVariable(j, rng.NextGaussian());
        b.AddVariable(548, rng.NextGaussian());
        for (int j = 0; j < 548; j++) b.AddInteraction(j, 548, rng.NextGaussian() * 0.5);
        var problem = b.Build();
        var set = await qpu.SampleAsync(problem, new SampleRequest(20, 1, 1));
        Assert.Equal(549, set.NumVariables);
        Assert.Equal(20, set.TotalReads);
        for (int r = 0; r < set.NumRows; r++) Assert.Equal(problem.Energy(set.Row(r)), set.Energies[r], 9);
        Assert.True(set.Info.Properties["qubits"] >= 549);
        Assert.True(set.Info.Timing["qpu_access_time"] > 15000);
        Assert.Equal(0, set.Info.Properties["clipped"]);
    }

    [Fact]
    public async Task AutoTemperature_MovesTTowardsBetaHw()
    {
        // β_hw = 8 here: starting from T = 2 the running estimate should bring T near 8.
        await using var hx = await SimulatorHarness.StartAsync(betaHw: 8, sweeps: 200);
        using var c = hx.Client();
        var solver = await c.GetSolverAsync(SimulatorHarness.Solver);
        var auto = new QpuTemperature(2, Auto: true);
        using var qpu = Qpu(c, solver, new QpuSamplerOptions { Temperature = auto, AutoTemperatureSmoothing = 0.5 });
        var problem = Star(4, 0.6, 0.7, 0.9);
        for (int call = 0; call < 4; call++) await qpu.SampleAsync(problem, new SampleRequest(400, 1, (ulong)call + 1));
        var t = await qpu.TemperatureAsync(auto, 1);
        Assert.InRange(t.RunningBetaEstimate!.Value, 8 * 0.75, 8 * 1.25);
        Assert.InRange(t.CurrentT, 8 * 0.75, 8 * 1.25);
    }

    [Fact]
    public async Task FromConfig_PicksTheConfiguredOrLargestOnlineSolver()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        var env = new Dictionary<string, string>
        {
            ["DWAVE_API_ENDPOINT"] = hx.Sim.SapiEndpoint.ToString(),
            ["DWAVE_API_TOKEN"] = SimulatorHarness.Token,
        };
        var sources = new QaActors.DWave.Config.DWaveConfigSources(k => env.GetValueOrDefault(k), Path.GetTempPath(), Path.GetTempPath());
        var cfg = QaActors.DWave.Config.DWaveConfig.Load(new QaActors.DWave.Config.DWaveConfigOverrides { IgnoreConfigFiles = true }, sources);
        using (var any = QpuSampler.FromConfig(cfg))
            Assert.Equal(SimulatorHarness.Solver, (await any.StructuredAsync()).Solver.Name); // 16 qubits beat 9
        env["DWAVE_API_SOLVER"] = SimulatorHarness.Solver2;
        cfg = QaActors.DWave.Config.DWaveConfig.Load(new QaActors.DWave.Config.DWaveConfigOverrides { IgnoreConfigFiles = true }, sources);
        using var named = QpuSampler.FromConfig(cfg);
        Assert.Equal(SimulatorHarness.Solver2, named.SolverName);
        Assert.Equal(SimulatorHarness.Solver2, (await named.StructuredAsync()).Solver.Name);
        var set = await named.SampleAsync(Star(3, 0.5, 0.5, 0.5), new SampleRequest(10, 1, 1));
        Assert.Equal(10, set.TotalReads);
    }
}
