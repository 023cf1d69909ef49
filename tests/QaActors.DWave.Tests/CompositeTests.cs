using QaActors.DWave.Composites;
using QaActors.DWave.Simulator;
using QaActors.DWave.Structured;
using QaActors.Sampling;

namespace QaActors.DWave.Tests;

/// <summary>
/// The composites over the simulator's QPU model, no HTTP (docs/dwave.md, "Composites"): embedding reuse, tiling into
/// one call, and the temperature composite as the one place where β/T is applied.
/// </summary>
public class CompositeTests
{
    private static SimulatedQpu Qpu(double betaHw = 16) =>
        new(SimulatedSolverSpec.AdvantageLike("Composite", LatticeGraphSource.Instance.Build("pegasus", [4])),
            new SimulatedQpuModel { Sampler = new HardwareAnnealer(300), BetaHw = betaHw, SigmaH = 0, SigmaJ = 0, Seed = 3 });

    private static Bqm Star(int k, double hub, double leaf, double j, double sign = 1)
    {
        var b = new BqmBuilder(Vartype.Binary);
        for (int i = 0; i < k; i++) b.AddVariable(i, sign * leaf * (i % 2 == 0 ? 1 : -1));
        b.AddVariable(k, sign * hub);
        for (int i = 0; i < k; i++) b.AddInteraction(i, k, j * (i % 3 == 0 ? -1 : 1));
        return b.Build();
    }

    private static double TotalVariation(Bqm problem, SampleSet set, double beta)
    {
        int n = problem.NumVariables;
        var exact = new double[1 << n];
        var state = new sbyte[n];
        double z = 0;
        for (int s = 0; s < exact.Length; s++)
        {
            for (int i = 0; i < n; i++) state[i] = (sbyte)((s >> i) & 1);
            z += exact[s] = Math.Exp(-beta * problem.Energy(state));
        }
        var seen = new double[exact.Length];
        for (int r = 0; r < set.NumRows; r++)
        {
            int s = 0;
            for (int i = 0; i < n; i++) s |= set.Row(r)[i] << i;
            seen[s] += set.NumOccurrences[r] / (double)set.TotalReads;
        }
        return 0.5 * Enumerable.Range(0, exact.Length).Sum(s => Math.Abs(exact[s] / z - seen[s]));
    }

    [Fact]
    public async Task Temperature_over_tiling_over_the_model_samples_the_logical_problem_at_beta_one()
    {
        IStructuredSampler qpu = Qpu(betaHw: 16);
        var cache = new EmbeddingCache(qpu.Target, qpu.Solver.Name);
        var stack = new TemperatureComposite(new TilingComposite(qpu, cache, maxTiles: 1), new QpuTemperature(16));
        var problem = Star(3, 0.5, 0.8, 1.2);
        var set = await stack.SampleAsync(problem, new SampleRequest(4000, 1, 5));
        double tv = TotalVariation(problem, set, beta: 1);
        // 4000 reads over 16 states: draw noise in TV about 0.03. Without the 1/T step the model is sampled at β = 16.
        Assert.True(tv < 0.08, $"TV {tv:F3} at beta 1");
        Assert.True(TotalVariation(problem, set, beta: 16) > 0.2, "the test must tell beta 1 from beta 16");
        Assert.Equal(1.0 / 16, set.Info.Properties["problem_scale"]);
        for (int r = 0; r < set.NumRows; r++) Assert.Equal(problem.Energy(set.Row(r)), set.Energies[r], 9);

        // Without the temperature composite the same structured sampler samples the problem as given: at β_hw.
        var raw = await new TilingComposite(qpu, cache, 1).SampleAsync(problem, new SampleRequest(4000, 1, 5));
        Assert.True(TotalVariation(problem, raw, beta: 16) < 0.08);
    }

    /// <summary>
    /// The EBM's star at the paper's T = 16 on a QPU at β_hw = 16: torque compensation of the programmed (1/16) problem
    /// gives chains that the hardware's own temperature breaks in most reads; the QPU sampler's floor
    /// (<see cref="QaActors.DWave.Embedding.ChainStrength.ForHardwareTemperature"/>) keeps them whole.
    /// </summary>
    [Fact]
    public async Task The_qpu_sampler_keeps_chains_whole_at_the_hardware_temperature()
    {
        IStructuredSampler qpu = Qpu(betaHw: 16);
        var problem = Star(40, 0.3, 0.5, 0.2);
        var request = new SampleRequest(400, 1, 9);
        var cache = new EmbeddingCache(qpu.Target, qpu.Solver.Name);
        var bare = await new TemperatureComposite(new TilingComposite(qpu, cache, maxTiles: 1), new QpuTemperature(16)).SampleAsync(problem, request);
        using var sampler = new QaActors.DWave.Sapi.QpuSampler(qpu, new QaActors.DWave.Sapi.QpuSamplerOptions { Temperature = new QpuTemperature(16) });
        var floored = await sampler.SampleAsync(problem, request);
        double broken = bare.Info.Properties["chain_break_fraction"], kept = floored.Info.Properties["chain_break_fraction"];
        // 41 chains: a fraction near 1/41 means a chain (the hub's) broken in nearly every read.
        Assert.True(broken > 0.5 / 41, $"without the floor the chains were broken in {broken * 41:P0} of reads: the test would not tell");
        Assert.True(kept < 0.05 / 41, $"with the floor, broken chains per read {kept * 41:F3}");
        Assert.Equal(QaActors.DWave.Embedding.ChainStrength.ForHardwareTemperature(16), Math.Log(1000) / 32, 12);
    }

    [Fact]
    public async Task Tiling_puts_several_problems_in_one_call_each_with_its_own_linear_terms()
    {
        IStructuredSampler qpu = Qpu();
        var cache = new EmbeddingCache(qpu.Target, qpu.Solver.Name);
        var tiling = new TilingComposite(qpu, cache, maxTiles: 4);
        var problems = Enumerable.Range(0, 4).Select(i => Star(3, 2, 2, 0.1, sign: i % 2 == 0 ? 1 : -1)).ToArray();
        var layout = await tiling.LayoutAsync(problems[0]);
        Assert.Equal(4, layout.Copies);
        Assert.Same(layout.Tiles, (await tiling.LayoutAsync(problems[1])).Tiles); // one search per structure
        var sets = await tiling.SampleManyAsync(problems, problems.Select((_, i) => new SampleRequest(50, 1, (ulong)i)).ToArray());
        Assert.Single(sets.Select(s => s.Info.Notes["problem_id"]).Distinct()); // one call for the four
        Assert.All(sets, s => Assert.Equal(4, s.Info.Properties["tiles"]));
        for (int i = 0; i < 4; i++)
        {
            // Strong fields pin each copy: +2 on a BINARY variable is minimised by 0, −2 by 1.
            sbyte pinned = i % 2 == 0 ? (sbyte)0 : (sbyte)1;
            var best = Enumerable.Range(0, sets[i].NumRows).OrderByDescending(r => sets[i].NumOccurrences[r]).First();
            Assert.Equal(pinned, sets[i].Row(best)[3]);
        }
        double call = sets[0].Info.Properties["qpu_access_time_call"];
        Assert.Equal(call, sets.Sum(s => s.Info.Timing["qpu_access_time"]), 6);
        Assert.Equal(tiling.EstimateAccessMicros(layout, 4, 50), call, 0);
    }
}
