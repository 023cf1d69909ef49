using QaActors.Sampling;
using Xunit.Abstractions;

namespace QaActors.Sampling.Tests;

/// <summary>
/// The samplers' central claim: at a fixed β, gibbs and anneal (constant schedule) draw from exp(−β E)/Z. Checked by
/// the total-variation distance between the empirical distribution over all states and the exact one, against the
/// TV that exact independent draws of the same size reach (see <see cref="TestSupport.TvNullThreshold"/>). Each
/// check is shown to discriminate: the same sampler run at 1.5 β, and a Gibbs variant with a deliberate error,
/// must fail the same tolerance.
/// </summary>
public class BoltzmannTests(ITestOutputHelper output)
{
    private const double Beta = 1.0;
    private const int Reads = 40000;

    public static TheoryData<string> Problems => new() { "dense10", "sparse12", "bipartite3x7_binary", "star1x8" };

    private static (Bqm Bqm, string Kernel) Problem(string name) => name switch
    {
        // Fully connected, frustrated: colouring gives one variable per class (a sequential sweep).
        "dense10" => (TestSupport.Random(10, 1.0, 1.0, 0.5, 11), "coloured"),
        "sparse12" => (TestSupport.Random(12, 0.3, 1.0, 1.0, 12), "coloured"),
        // K×M with M = 3 as a QUBO: the dense bipartite vector kernel with several side-A spins, BINARY in and out.
        "bipartite3x7_binary" => (TestSupport.CompleteBipartite(3, 7, 2.0, 2.0, 13, Vartype.Binary), TestSupport.DenseKernel),
        "star1x8" => (TestSupport.CompleteBipartite(1, 8, 1.0, 1.0, 14), TestSupport.DenseKernel),
        _ => throw new ArgumentException(name),
    };

    private void AssertBoltzmann(string what, Bqm bqm, SampleSet set, bool expectMatch)
    {
        var exact = ExactSampler.Distribution(bqm, Beta);
        var (mean, threshold) = TestSupport.TvNullThreshold(exact, set.NumRows, 99);
        double tv = TestSupport.TotalVariation(exact, TestSupport.Empirical(set));
        output.WriteLine($"{what}: TV={tv:F4} null mean={mean:F4} threshold={threshold:F4}");
        if (expectMatch) Assert.True(tv < threshold, $"{what}: TV {tv:F4} exceeds {threshold:F4} (independent exact draws average {mean:F4})");
        else Assert.True(tv > threshold, $"{what}: a wrong sampler passed, TV {tv:F4} below {threshold:F4}: the check does not discriminate");
    }

    [Theory]
    [MemberData(nameof(Problems))]
    public void GibbsMatchesExactBoltzmann(string name)
    {
        var (bqm, kernel) = Problem(name);
        var gibbs = new GibbsSampler(new GibbsOptions(Sweeps: 40));
        var set = gibbs.Run(bqm, Reads, Beta, 5);
        Assert.Equal(kernel, set.Info.Notes["kernel"]);
        Assert.Equal(bqm.Vartype, set.Vartype);
        Assert.Equal(Reads, set.NumRows);
        AssertBoltzmann($"gibbs {name}", bqm, set, expectMatch: true);
        AssertBoltzmann($"gibbs {name} at 1.5 beta", bqm, gibbs.Run(bqm, Reads, 1.5 * Beta, 5), expectMatch: false);
    }

    [Theory]
    [MemberData(nameof(Problems))]
    public void AnnealAtConstantBetaMatchesExactBoltzmann(string name)
    {
        var (bqm, kernel) = Problem(name);
        var anneal = new AnnealSampler(AnnealOptions.ConstantAtRequestBeta(40));
        var set = anneal.Run(bqm, Reads, Beta, 6);
        Assert.Equal(kernel == "coloured" ? "sparse_lanes" : kernel, set.Info.Notes["kernel"]);
        Assert.Equal(Reads, set.NumRows);
        AssertBoltzmann($"anneal {name}", bqm, set, expectMatch: true);
        AssertBoltzmann($"anneal {name} at 1.5 beta", bqm, anneal.Run(bqm, Reads, 1.5 * Beta, 6), expectMatch: false);
    }

    /// <summary>
    /// Heat-bath updates of all spins at once from the previous state's fields (a "synchronous" Gibbs sampler):
    /// every single update uses the right conditional, yet the chain's stationary law is not the Boltzmann law.
    /// </summary>
    [Theory]
    [InlineData("dense10")]
    [InlineData("sparse12")]
    public void SynchronousGibbsFailsTheSameCheck(string name)
    {
        var (bqm, _) = Problem(name);
        var spin = bqm.ToSpin();
        int n = spin.NumVariables;
        var samples = new sbyte[Reads * n];
        var s = new double[n];
        var next = new double[n];
        for (int r = 0; r < Reads; r++)
        {
            var rng = new Rng(1000 + (ulong)r);
            for (int i = 0; i < n; i++) s[i] = rng.NextDouble() < 0.5 ? 1 : -1;
            for (int sweep = 0; sweep < 40; sweep++)
            {
                for (int i = 0; i < n; i++)
                {
                    double f = spin.Linear[i];
                    var nb = spin.Neighbours(i);
                    var jb = spin.NeighbourBiases(i);
                    for (int q = 0; q < nb.Length; q++) f += jb[q] * s[nb[q]];
                    next[i] = rng.NextDouble() < 1 / (1 + Math.Exp(2 * Beta * f)) ? 1 : -1;
                }
                (s, next) = (next, s);
            }
            for (int i = 0; i < n; i++) samples[r * n + i] = (sbyte)s[i];
        }
        AssertBoltzmann($"synchronous gibbs {name}", spin, SampleSet.FromSamples(spin, samples, SampleInfo.For("wrong")), expectMatch: false);
    }

    [Theory]
    [InlineData("dense10")]
    [InlineData("bipartite3x7_binary")]
    public void ThinnedGibbsChainsMatchExactMarginals(string name)
    {
        var (bqm, _) = Problem(name);
        double lo = bqm.Vartype == Vartype.Spin ? -1 : 0;
        var options = new GibbsOptions(Sweeps: 1000, BurnIn: 100, Thinning: 2);
        var set = new GibbsSampler(options).Run(bqm, 20000, Beta, 8);
        Assert.Equal(20000, set.NumRows);
        Assert.Equal(45, set.Info.Properties["chains"]); // 450 samples per chain
        var p = ExactSampler.Distribution(bqm, Beta);
        var exact = new double[bqm.NumVariables];
        for (int i = 0; i < exact.Length; i++)
            for (int st = 0; st < p.Length; st++) exact[i] += p[st] * (((st >> i) & 1) != 0 ? 1 : lo);
        // iid sd <= 1/sqrt(20000) = 0.007; thinned samples are correlated, hence the wider margin.
        var means = set.Means();
        for (int i = 0; i < exact.Length; i++)
            Assert.True(Math.Abs(means[i] - exact[i]) < 0.04, $"variable {i}: mean {means[i]:F4}, exact {exact[i]:F4}");
        var wrong = new GibbsSampler(options).Run(bqm, 20000, 1.5 * Beta, 8).Means();
        Assert.Contains(Enumerable.Range(0, exact.Length), i => Math.Abs(wrong[i] - exact[i]) >= 0.04);
    }
}
