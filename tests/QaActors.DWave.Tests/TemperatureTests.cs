using QaActors.DWave.Temperature;
using QaActors.Sampling;

namespace QaActors.DWave.Tests;

public class TemperatureTests
{
    /// <summary>A random Ising model on n spins with about half the pairs coupled.</summary>
    private static Bqm RandomIsing(int n, ulong seed, double scale = 0.5)
    {
        var rng = new Rng(seed);
        var b = new BqmBuilder(Vartype.Spin);
        for (int i = 0; i < n; i++) b.AddVariable(i, scale * rng.NextGaussian());
        for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (rng.NextDouble() < 0.5) b.AddInteraction(i, j, scale * rng.NextGaussian());
        return b.Build();
    }

    /// <summary>Exact draws from P(s) ∝ exp(−βE(s)) by enumerating all 2^n states (n ≤ 12) and inverting the CDF.</summary>
    internal static SampleSet ExactBoltzmann(Bqm bqm, double beta, int reads, ulong seed)
    {
        int n = bqm.NumVariables;
        if (n > 12) throw new ArgumentException("exact enumeration is for at most 12 spins");
        int states = 1 << n;
        var energies = new double[states];
        var s = new sbyte[n];
        double emin = double.MaxValue;
        for (int a = 0; a < states; a++)
        {
            for (int i = 0; i < n; i++) s[i] = (sbyte)(((a >> i) & 1) == 1 ? 1 : -1);
            energies[a] = bqm.Energy(s);
            emin = Math.Min(emin, energies[a]);
        }
        var cdf = new double[states];
        double z = 0;
        for (int a = 0; a < states; a++) { z += Math.Exp(-beta * (energies[a] - emin)); cdf[a] = z; }
        var rng = new Rng(seed);
        var samples = new sbyte[reads * n];
        for (int r = 0; r < reads; r++)
        {
            int a = Array.BinarySearch(cdf, rng.NextDouble() * z);
            if (a < 0) a = ~a;
            for (int i = 0; i < n; i++) samples[r * n + i] = (sbyte)(((a >> i) & 1) == 1 ? 1 : -1);
        }
        return SampleSet.FromSamples(bqm, samples, SampleInfo.For("exact"));
    }

    [Theory]
    [InlineData(10, 0.5, 1UL)]
    [InlineData(10, 1.0, 2UL)]
    [InlineData(12, 2.0, 3UL)]
    [InlineData(8, 4.0, 4UL)]
    public void RecoversBetaOfExactBoltzmannSamples(int n, double beta, ulong seed)
    {
        var bqm = RandomIsing(n, seed);
        var samples = ExactBoltzmann(bqm, beta, 4000, seed + 100);
        var est = BetaEstimator.MaximumPseudoLikelihood(bqm, samples, numBootstrap: 20, seed: 9);
        // MPL is consistent; with 4,000 reads its relative error is a few per cent. 10 % rejects a factor-of-two or a
        // sign error, and a wrong β (the next test) by far.
        Assert.InRange(est.Beta, 0.9 * beta, 1.1 * beta);
        Assert.Equal(1 / est.Beta, est.Temperature, 12);
        Assert.Equal(4000, est.NumReads);
        double sd = est.BootstrapStdDev();
        Assert.InRange(sd, 1e-4 * beta, 0.1 * beta);
        Assert.InRange(Math.Abs(est.Beta - beta), 0, 5 * sd + 0.02 * beta);
    }

    [Fact]
    public void EstimateIsTheMaximumOfThePseudoLikelihood()
    {
        var bqm = RandomIsing(9, 11);
        var samples = ExactBoltzmann(bqm, 1.3, 2000, 12);
        double b = BetaEstimator.MaximumPseudoLikelihood(bqm, samples).Beta;
        double l0 = BetaEstimator.LogPseudoLikelihood(bqm, samples, b);
        Assert.True(BetaEstimator.LogPseudoLikelihood(bqm, samples, b * 1.01) < l0);
        Assert.True(BetaEstimator.LogPseudoLikelihood(bqm, samples, b * 0.99) < l0);
        // Central difference of L at β̂ is zero up to rounding.
        double d = 1e-5;
        double slope = (BetaEstimator.LogPseudoLikelihood(bqm, samples, b + d) - BetaEstimator.LogPseudoLikelihood(bqm, samples, b - d)) / (2 * d);
        Assert.InRange(slope, -1e-3, 1e-3);
    }

    [Fact]
    public void BetaScalesInverselyWithTheProblemAndDistinguishesTemperatures()
    {
        var bqm = RandomIsing(10, 21);
        var samples = ExactBoltzmann(bqm, 1.0, 3000, 22);
        double b1 = BetaEstimator.MaximumPseudoLikelihood(bqm, samples).Beta;
        double b2 = BetaEstimator.MaximumPseudoLikelihood(bqm.Scale(2), samples).Beta;
        Assert.Equal(b1 / 2, b2, 9);
        double hot = BetaEstimator.MaximumPseudoLikelihood(bqm, ExactBoltzmann(bqm, 0.5, 3000, 23)).Beta;
        Assert.True(hot < 0.75 && b1 > 0.75, $"β̂ at β=0.5 is {hot}, at β=1 is {b1}");
    }

    [Fact]
    public void GroundStatesGiveInfiniteBetaAndWeightsCount()
    {
        // Ferromagnetic pair with a field: (+1,+1) is the unique ground state and a local minimum.
        var bqm = Bqm.FromArrays(Vartype.Spin, [-0.5, -0.5], [0], [1], [-1]);
        var ground = SampleSet.FromSamples(bqm, [1, 1, 1, 1], SampleInfo.For("t"));
        var est = BetaEstimator.MaximumPseudoLikelihood(bqm, ground);
        Assert.True(est.IsUnbounded);
        Assert.Equal(0, est.Temperature);

        var big = RandomIsing(8, 31);
        var raw = ExactBoltzmann(big, 0.8, 1500, 32);
        Assert.Equal(BetaEstimator.MaximumPseudoLikelihood(big, raw).Beta, BetaEstimator.MaximumPseudoLikelihood(big, raw.Aggregate()).Beta, 9);
        // BINARY samples of the BINARY form of the model give the same β.
        Assert.Equal(BetaEstimator.MaximumPseudoLikelihood(big, raw).Beta,
            BetaEstimator.MaximumPseudoLikelihood(big.ToBinary(), raw.ChangeVartype(Vartype.Binary)).Beta, 9);
        var zero = Bqm.FromArrays(Vartype.Spin, [0, 0], [], [], []);
        Assert.Throws<ArgumentException>(() => BetaEstimator.MaximumPseudoLikelihood(zero, SampleSet.FromSamples(zero, [1, -1], SampleInfo.For("t"))));
    }
}
