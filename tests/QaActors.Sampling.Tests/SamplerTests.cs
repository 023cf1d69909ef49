using System.Runtime.Intrinsics;
using QaActors.Sampling;

namespace QaActors.Sampling.Tests;

public class ExactSamplerTests
{
    [Theory]
    [InlineData(0.7, 1.0)]
    [InlineData(-2.0, 0.3)]
    public void SingleSpinAndSingleBitMatchClosedForm(double h, double beta)
    {
        var spin = Bqm.FromArrays(Vartype.Spin, [h], [], [], []);
        var p = ExactSampler.Distribution(spin, beta);
        Assert.Equal(Math.Exp(-beta * h) / (2 * Math.Cosh(beta * h)), p[1], 12);
        Assert.Equal(Math.Log(2 * Math.Cosh(beta * h)), ExactSampler.LogPartition(spin, beta), 12);

        var bit = Bqm.FromArrays(Vartype.Binary, [h], [], [], [], offset: 0.5);
        var q = ExactSampler.Distribution(bit, beta);
        Assert.Equal(1 / (1 + Math.Exp(beta * h)), q[1], 12);
        Assert.Equal(-0.5 * beta + Math.Log(1 + Math.Exp(-beta * h)), ExactSampler.LogPartition(bit, beta), 12);
    }

    [Fact]
    public void TwoCoupledSpinsMatchClosedForm()
    {
        double h0 = 0.3, h1 = -0.8, j = 1.1, beta = 0.9;
        var bqm = Bqm.FromArrays(Vartype.Spin, [h0, h1], [0], [1], [j]);
        var p = ExactSampler.Distribution(bqm, beta);
        double W(int s0, int s1) => Math.Exp(-beta * (h0 * s0 + h1 * s1 + j * s0 * s1));
        double z = W(-1, -1) + W(1, -1) + W(-1, 1) + W(1, 1);
        Assert.Equal(W(-1, -1) / z, p[0], 12);
        Assert.Equal(W(1, -1) / z, p[1], 12); // bit 0 = variable 0 up
        Assert.Equal(W(-1, 1) / z, p[2], 12);
        Assert.Equal(W(1, 1) / z, p[3], 12);
        Assert.Equal(Math.Log(z), ExactSampler.LogPartition(bqm, beta), 12);
    }

    [Fact]
    public void GrayCodeEnergiesEqualDirectEnergies()
    {
        var bqm = TestSupport.Random(11, 0.5, 1.5, 1.0, 21, Vartype.Binary);
        var e = ExactSampler.Energies(bqm);
        var row = new sbyte[11];
        for (int s = 0; s < e.Length; s++)
        {
            for (int i = 0; i < 11; i++) row[i] = (sbyte)((s >> i) & 1);
            Assert.Equal(bqm.Energy(row), e[s], 9);
        }
    }

    [Fact]
    public void LogPartitionIsStableForLargeEnergies()
    {
        // Energies of order 1e4 at beta 1 overflow exp directly; log-sum-exp must not.
        var bqm = TestSupport.Random(8, 0.5, 1.0, 1.0, 22).Scale(1e4);
        double logZ = ExactSampler.LogPartition(bqm, 1.0);
        Assert.True(double.IsFinite(logZ));
        double eMin = ExactSampler.Energies(bqm).Min();
        Assert.InRange(logZ, -eMin, -eMin + Math.Log(256));
        Assert.Equal(1.0, ExactSampler.Distribution(bqm, 1.0).Sum(), 12);
    }

    [Fact]
    public void ReadsFollowTheExactDistribution()
    {
        var bqm = TestSupport.Random(7, 0.6, 1.0, 1.0, 23, Vartype.Binary);
        var set = new ExactSampler().Run(bqm, 50000, 1.0, 3);
        Assert.Equal(Vartype.Binary, set.Vartype);
        var p = ExactSampler.Distribution(bqm, 1.0);
        var (_, threshold) = TestSupport.TvNullThreshold(p, 50000, 4);
        Assert.True(TestSupport.TotalVariation(p, TestSupport.Empirical(set)) < threshold);
        var wrong = new ExactSampler().Run(bqm, 50000, 1.5, 3);
        Assert.True(TestSupport.TotalVariation(p, TestSupport.Empirical(wrong)) > threshold);
        // energies come from the problem
        for (int r = 0; r < 20; r++) Assert.Equal(bqm.Energy(set.Row(r)), set.Energies[r], 12);
    }

    [Fact]
    public void TooManyVariablesIsAClearError()
    {
        var bqm = Bqm.FromArrays(Vartype.Spin, new double[25], [], [], []);
        var e = Assert.Throws<ArgumentException>(() => new ExactSampler().Run(bqm, 1, 1, 1));
        Assert.Contains("at most 24 variables", e.Message);
        Assert.Contains("has 25", e.Message);
        Assert.Throws<ArgumentException>(() => ExactSampler.Distribution(bqm, 1));
    }
}

public class SimdMathTests
{
    [Fact]
    public void ExpIsAccurateToHalfAMillionth()
    {
        double worstScalar = 0, worstVector = 0;
        Span<float> xs = stackalloc float[16];
        for (int k = 0; k <= 200000; k += 16)
        {
            for (int l = 0; l < 16; l++) xs[l] = -87.3f + 174.6f * (k + l) / 200016f; // the whole unclamped range
            var v = SimdMath.Exp(Vector512.Create<float>(xs));
            for (int l = 0; l < 16; l++)
            {
                double exact = Math.Exp(xs[l]);
                worstScalar = Math.Max(worstScalar, Math.Abs(SimdMath.Exp(xs[l]) / exact - 1));
                worstVector = Math.Max(worstVector, Math.Abs(v[l] / exact - 1));
            }
        }
        Assert.True(worstScalar < 5e-7, $"scalar relative error {worstScalar:E2}");
        Assert.True(worstVector < 5e-7, $"vector relative error {worstVector:E2}");
        Assert.True(SimdMath.Exp(0f) >= 1f); // the Metropolis kernel accepts downhill moves through e^0 > U
        Assert.True(SimdMath.Exp(-1e4f) is > 0 and < 1e-37f);
        Assert.True(float.IsFinite(SimdMath.Exp(1e4f)));
    }

    [Fact]
    public void LaneUniformsAreInsideTheOpenIntervalAndUniform()
    {
        var seeder = new Rng(5);
        var lanes = new LaneRng(ref seeder);
        var sums = new double[16];
        const int draws = 20000;
        for (int k = 0; k < draws; k++)
        {
            var u = lanes.NextSingle();
            for (int l = 0; l < 16; l++)
            {
                Assert.True(u[l] > 0 && u[l] < 1);
                sums[l] += u[l];
            }
        }
        // sd of a lane mean = sqrt(1/12/draws) = 0.002
        foreach (double s in sums) Assert.InRange(s / draws, 0.49, 0.51);
        Assert.Equal(16, sums.Distinct().Count());

        // The kernels' scaled form draws the same uniforms times 2^24, as odd integers.
        var a = lanes;
        Vector512<uint> s0 = lanes.S0, s1 = lanes.S1, s2 = lanes.S2, s3 = lanes.S3;
        for (int k = 0; k < 100; k++)
        {
            var u = a.NextSingle();
            var kk = LaneRng.NextOddScaled(ref s0, ref s1, ref s2, ref s3);
            for (int l = 0; l < 16; l++)
            {
                Assert.Equal(u[l] * (1 << 24), kk[l]);
                Assert.Equal(1, (int)kk[l] % 2);
            }
        }
    }
}

public class StarAndDeterminismTests
{
    [Fact]
    public void StarFormulasMatchEnumeration()
    {
        var star = StarProblem.Create(12, 77);
        var p = ExactSampler.Distribution(star, 0.7);
        double y = 0, k1 = 0;
        for (int s = 0; s < p.Length; s++) { y += p[s] * ((s & 1) != 0 ? 1 : -1); k1 += p[s] * ((s & 2) != 0 ? 1 : -1); }
        Assert.Equal(y, StarProblem.ExactMeanHub(star, 0.7), 10);
        Assert.Equal(k1, StarProblem.ExactMeanLeaf(star, 0.7), 10);
    }

    // At beta 0.2 the hub is bistable (548 aligned leaves pin it), and chains need about 300 sweeps to forget
    // their start; at 0.1, 30 suffice.
    public static TheoryData<string, double, int, int> StarCases => new()
    {
        { "gibbs", 0.1, 30, 10000 }, { "gibbs", 0.2, 300, 2000 }, { "anneal", 0.1, 30, 10000 }, { "anneal", 0.2, 300, 2000 },
    };

    /// <summary>The 549-spin star on the vector kernel: hub and first-leaf means within 5 standard errors of the exact values.</summary>
    [Theory]
    [MemberData(nameof(StarCases))]
    public void StarMeansMatchExactFormulas(string sampler, double beta, int sweeps, int reads)
    {
        var star = StarProblem.Create(549);
        ISampler s = sampler == "gibbs" ? new GibbsSampler(new GibbsOptions(Sweeps: sweeps)) : new AnnealSampler(AnnealOptions.ConstantAtRequestBeta(sweeps));
        var set = s.Run(star, reads, beta, 17);
        Assert.Equal(TestSupport.DenseKernel, set.Info.Notes["kernel"]);
        var m = set.Means();
        double y = StarProblem.ExactMeanHub(star, beta), k1 = StarProblem.ExactMeanLeaf(star, beta);
        Assert.True(Math.Abs(m[0] - y) < 5 * Math.Sqrt((1 - y * y) / reads), $"<y> {m[0]:F4} vs exact {y:F4}");
        Assert.True(Math.Abs(m[1] - k1) < 5 * Math.Sqrt((1 - k1 * k1) / reads), $"<k1> {m[1]:F4} vs exact {k1:F4}");
        // and a wrong temperature is caught by the same tolerance on the hub or the leaf
        var wrong = s.Run(star, reads, 1.5 * beta, 17).Means();
        Assert.True(Math.Abs(wrong[0] - y) > 5 * Math.Sqrt((1 - y * y) / reads) || Math.Abs(wrong[1] - k1) > 5 * Math.Sqrt((1 - k1 * k1) / reads));
    }

    public static TheoryData<string, string> SamplerProblemCases => new()
    {
        { "exact", "dense" }, { "gibbs", "dense" }, { "gibbs", "star" }, { "anneal", "dense" }, { "anneal", "star" },
        { "anneal_default", "dense" }, { "anneal_default", "star" },
    };

    [Theory]
    [MemberData(nameof(SamplerProblemCases))]
    public void SameSeedGivesIdenticalSamples(string sampler, string problem)
    {
        ISampler s = sampler switch
        {
            "exact" => new ExactSampler(),
            "gibbs" => new GibbsSampler(new GibbsOptions(Sweeps: 20)),
            "anneal" => new AnnealSampler(AnnealOptions.ConstantAtRequestBeta(20)),
            _ => new AnnealSampler(new AnnealOptions(Sweeps: 20)),
        };
        var bqm = problem == "star" ? StarProblem.Create(40) : TestSupport.Random(10, 0.8, 1, 1, 31, Vartype.Binary);
        var a = s.Run(bqm, 200, 0.5, 1234);
        var b = s.Run(bqm, 200, 0.5, 1234);
        var c = s.Run(bqm, 200, 0.5, 1235);
        Assert.Equal(a.Samples.ToArray(), b.Samples.ToArray());
        Assert.Equal(a.Energies.ToArray(), b.Energies.ToArray());
        // (annealing to Ocean's cold end puts every read of the small dense problem in its ground state)
        if (!(sampler == "anneal_default" && problem == "dense")) Assert.NotEqual(a.Samples.ToArray(), c.Samples.ToArray());
        Assert.Equal(bqm.Labels.ToArray(), a.Variables.ToArray());
        for (int r = 0; r < a.NumRows; r++) Assert.Equal(bqm.Energy(a.Row(r)), a.Energies[r], 12);
    }

    [Fact]
    public async Task CancellationStopsASampler()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var bqm = StarProblem.Create(20);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new GibbsSampler().SampleAsync(bqm, new SampleRequest(10, 1, 1), cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new AnnealSampler().SampleAsync(bqm, new SampleRequest(10, 1, 1), cts.Token));
    }
}

public class AnnealScheduleTests
{
    /// <summary>Ocean's rule worked by hand: Σ_i = (3, 2.5, 1), m_i = (1, 0.5, 0.5).</summary>
    [Fact]
    public void DefaultBetaRangeFollowsOceansRule()
    {
        var bqm = Bqm.FromArrays(Vartype.Spin, [1.0, 0.0, -0.5], [0, 1], [1, 2], [2.0, 0.5]);
        var (lo, hi) = AnnealSampler.DefaultBetaRange(bqm);
        Assert.Equal(Math.Log(2) / 6, lo, 12);
        Assert.Equal(Math.Log(2 / 0.01) / (2 * 0.5), hi, 12);
        Assert.Equal((0.1, 1.0), AnnealSampler.DefaultBetaRange(Bqm.FromArrays(Vartype.Spin, [0.0, 0.0], [0], [1], [0.0])));
        // a BINARY problem is judged on its SPIN form
        var (lo2, hi2) = AnnealSampler.DefaultBetaRange(bqm.ToBinary());
        Assert.Equal(lo, lo2, 12);
        Assert.Equal(hi, hi2, 12);
    }

    [Fact]
    public void SchedulesHaveTheirShapes()
    {
        var bqm = StarProblem.Create(5);
        var g = new AnnealOptions(5, (0.1, 10.0)).Betas(bqm, 1);
        Assert.Equal(new[] { 0.1, Math.Sqrt(0.1), 1.0, Math.Sqrt(10), 10.0 }, g, new Tolerance(1e-12));
        var l = new AnnealOptions(5, (1.0, 3.0), AnnealSchedule.Linear).Betas(bqm, 1);
        Assert.Equal(new[] { 1.0, 1.5, 2.0, 2.5, 3.0 }, l, new Tolerance(1e-12));
        Assert.All(AnnealOptions.ConstantAtRequestBeta(7).Betas(bqm, 0.37), b => Assert.Equal(0.37, b));
        var d = new AnnealOptions(4).Betas(bqm, 1);
        Assert.Equal(AnnealSampler.DefaultBetaRange(bqm).Lo, d[0], 12);
        Assert.Equal(AnnealSampler.DefaultBetaRange(bqm).Hi, d[^1], 12);
    }

    [Fact]
    public void AnnealingFindsTheGroundStateOfASmallProblem()
    {
        var bqm = TestSupport.Random(12, 0.4, 1, 1, 41);
        double ground = ExactSampler.Energies(bqm).Min();
        var set = new AnnealSampler().Run(bqm, 20, 1, 5);
        Assert.Equal(ground, set.Energies.ToArray().Min(), 9);
    }

    [Theory]
    [InlineData("sparse")]
    [InlineData("dense")]
    public void ReadsSpreadOverThreadsAreTheSameRows(string kernel)
    {
        // 40 reads over 3 threads: uneven chunks (the lane kernel's units are 16, 16 and 8 reads); each read's streams
        // depend on (seed, read) only, so fewer reads are the first rows of more.
        var bqm = kernel == "dense" ? TestSupport.CompleteBipartite(3, 40, 0.5, 0.5, 9) : TestSupport.Random(30, 0.2, 1, 1, 8);
        // At a warm constant beta the reads stay diverse (an anneal to the ground state would make them all alike).
        var one = new AnnealSampler(AnnealOptions.ConstantAtRequestBeta(50)).Run(bqm, 40, 0.3, 11);
        var three = new AnnealSampler(AnnealOptions.ConstantAtRequestBeta(50)) { Parallelism = 3 }.Run(bqm, 40, 0.3, 11);
        var fewer = new AnnealSampler(AnnealOptions.ConstantAtRequestBeta(50)).Run(bqm, 21, 0.3, 11);
        Assert.Equal(kernel == "dense" ? "dense_bipartite" : "sparse_lanes", one.Info.Notes["kernel"]);
        Assert.Equal(one.Samples.ToArray(), three.Samples.ToArray());
        Assert.Equal(one.Samples[..(21 * bqm.NumVariables)].ToArray(), fewer.Samples.ToArray());
        // The rows differ from read to read, so equal sets are not equal by accident.
        Assert.NotEqual(one.Row(0).ToArray(), one.Row(1).ToArray());
    }

    [Fact]
    public void BadOptionsAreRejectedWithTheFix()
    {
        var bqm = StarProblem.Create(5);
        var e = Assert.Throws<ArgumentException>(() => new AnnealSampler(new AnnealOptions(10, (0.1, 1), AnnealSchedule.Constant)).Run(bqm, 1, 1, 1));
        Assert.Contains("not both", e.Message);
        Assert.Throws<ArgumentException>(() => new AnnealSampler(new AnnealOptions(10, (2, 1))).Run(bqm, 1, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GibbsSampler(new GibbsOptions(Sweeps: 0)).Run(bqm, 1, 1, 1));
        var g = Assert.Throws<ArgumentException>(() => new GibbsSampler(new GibbsOptions(Sweeps: 10, BurnIn: 8, Thinning: 5)).Run(bqm, 1, 1, 1));
        Assert.Contains("no sample would be recorded", g.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GibbsSampler().Run(bqm, 0, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GibbsSampler().Run(bqm, 1, double.NaN, 1));
    }
}

internal sealed class Tolerance(double eps) : IEqualityComparer<double>
{
    public bool Equals(double x, double y) => Math.Abs(x - y) <= eps * Math.Max(1, Math.Abs(x));
    public int GetHashCode(double obj) => 0;
}

public class ClassicalSamplersTests
{
    [Fact]
    public void NamesFollowTheCommandLineRules()
    {
        Assert.IsType<ExactSampler>(ClassicalSamplers.Create("exact"));
        var g = Assert.IsType<GibbsSampler>(ClassicalSamplers.Create("gibbs", sweeps: 50));
        Assert.Equal(50, g.Options.Sweeps);
        Assert.Equal(AnnealSchedule.Constant, Assert.IsType<AnnealSampler>(ClassicalSamplers.Create("anneal", fixedBeta: true)).Options.Schedule);
        var ranged = Assert.IsType<AnnealSampler>(ClassicalSamplers.Create("anneal", 200, (0.1, 3.0), fixedBeta: true)).Options;
        Assert.Equal((AnnealSchedule.Geometric, (0.1, 3.0), 200), (ranged.Schedule, ranged.BetaRange!.Value, ranged.Sweeps));
        var dflt = Assert.IsType<AnnealSampler>(ClassicalSamplers.Create("anneal")).Options;
        Assert.Equal((AnnealSchedule.Geometric, null, 1000), (dflt.Schedule, dflt.BetaRange, dflt.Sweeps));
        Assert.Contains("exact, gibbs, anneal", Assert.Throws<ArgumentException>(() => ClassicalSamplers.Create("qbsolv")).Message);
        Assert.Contains("anneal sampler only", Assert.Throws<ArgumentException>(() => ClassicalSamplers.Create("gibbs", betaRange: (1, 2))).Message);
    }
}
