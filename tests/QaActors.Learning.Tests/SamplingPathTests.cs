using QaActors.Learning;
using QaActors.Sampling;

namespace QaActors.Learning.Tests;

public class SamplingPathTests
{
    [Fact]
    public void BqmEnergyIsTheNegatedScore_AtTheModelsOwnTemperature()
    {
        var p = Reference.RandomParameters(6, 5, 2, 71, 0.9);
        var set = Reference.RandomSet(3, 6, 2, 72);
        var problems = EbmProblemBuilder.Build(p, set.X, set.Count);
        var rng = new Rng(73);
        for (int r = 0; r < set.Count; r++)
        {
            var bqm = problems[r];
            Assert.Equal(Vartype.Binary, bqm.Vartype);
            Assert.Equal(7, bqm.NumVariables);
            Assert.Equal(10, bqm.NumInteractions);
            var a = Reference.PreActivation(p, set.Row(r));
            var spin = bqm.ToSpin();
            for (int trial = 0; trial < 50; trial++)
            {
                var k = Enumerable.Range(0, 5).Select(_ => rng.NextInt(2)).ToArray();
                var y = Enumerable.Range(0, 2).Select(_ => rng.NextInt(2)).ToArray();
                var q = new sbyte[7];
                for (int j = 0; j < 5; j++) q[bqm.IndexOf(EbmProblemBuilder.HiddenLabel(j))] = (sbyte)k[j];
                for (int m = 0; m < 2; m++) q[bqm.IndexOf(EbmProblemBuilder.OutputLabel(5, m))] = (sbyte)y[m];
                double expected = -Reference.Score(p, a, k, y);
                Assert.Equal(expected, bqm.Energy(q), 1e-5);
                var s = q.Select(v => (sbyte)(2 * v - 1)).ToArray();
                Assert.Equal(expected, spin.Energy(s), 1e-5);
            }
        }
    }

    [Fact]
    public void ClippingCountsEveryMovedBias()
    {
        var p = new MlpParameters(1, 3, 1);
        p.W1[0] = 10; p.W1[1] = 0.1f; p.W1[2] = -10;
        p.W2[0] = 8; p.W2[1] = 0.5f; p.W2[2] = -0.5f;
        var bqm = EbmProblemBuilder.Build(p, new float[] { 1 }, 1)[0];
        var clip = EbmProblemBuilder.ClipIsing(bqm, -2, 2, -1, 1);
        var ising = bqm.ToSpin();
        int expectH = 0, expectJ = 0;
        foreach (double h in ising.Linear) if (Math.Abs(h) > 2) expectH++;
        foreach (double j in ising.QuadraticBias) if (Math.Abs(j) > 1) expectJ++;
        Assert.True(expectH > 0 && expectJ > 0);
        Assert.Equal(expectH, clip.ClippedLinear);
        Assert.Equal(expectJ, clip.ClippedQuadratic);
        foreach (double h in clip.Problem.Linear) Assert.InRange(h, -2, 2);
        foreach (double j in clip.Problem.QuadraticBias) Assert.InRange(j, -1, 1);
    }

    [Theory]
    [InlineData(Vartype.Binary)]
    [InlineData(Vartype.Spin)]
    public void SampledGradientApproachesTheExactGradientAsReadsGrow(Vartype vartype)
    {
        var p = Reference.RandomParameters(7, 6, 1, 81, 0.8);
        var set = Reference.RandomSet(4, 7, 1, 82);
        var exact = p.ZerosLike();
        Ebm.ExactGradient(p, set.X, set.Y, set.Count, exact);
        var problems = EbmProblemBuilder.Build(p, set.X, set.Count).Select(b => b.ChangeVartype(vartype)).ToArray();
        var sampler = new EnumeratingSampler();
        double Err(int reads, ulong seed)
        {
            var sets = problems.Select((b, i) => sampler.SampleAsync(b, new SampleRequest(reads, 1.0, seed + (ulong)i)).GetAwaiter().GetResult()).ToList();
            Assert.All(sets, s => Assert.Equal(vartype, s.Vartype));
            var g = p.ZerosLike();
            Ebm.SampledGradient(p, set.X, set.Y, set.Count, sets, g);
            return Reference.RelativeError(g, exact);
        }
        // Average over seeds so the comparison is about the 1/sqrt(reads) trend, not one lucky draw.
        double few = Enumerable.Range(0, 5).Average(s => Err(50, 1000 + (ulong)s * 10));
        double many = Enumerable.Range(0, 5).Average(s => Err(20000, 2000 + (ulong)s * 10));
        Assert.True(many < few / 5, $"error with 20000 reads {many} is not well below the error with 50 reads {few}");
        Assert.True(many < 0.03, $"error with 20000 reads is {many}");
    }

    [Fact]
    public void SampledGradientWithTwoOutputsApproachesTheExactOne()
    {
        var p = Reference.RandomParameters(5, 4, 2, 85, 0.8);
        var set = Reference.RandomSet(3, 5, 2, 86);
        var exact = p.ZerosLike();
        Ebm.ExactGradient(p, set.X, set.Y, set.Count, exact);
        var sampler = new EnumeratingSampler();
        var sets = EbmProblemBuilder.Build(p, set.X, set.Count)
            .Select((b, i) => sampler.SampleAsync(b.ToSpin(), new SampleRequest(40000, 1.0, 700 + (ulong)i)).GetAwaiter().GetResult()).ToList();
        var g = p.ZerosLike();
        Ebm.SampledGradient(p, set.X, set.Y, set.Count, sets, g);
        double err = Reference.RelativeError(g, exact);
        Assert.True(err < 0.03, $"two-output sampled gradient differs from the exact one by {err}");
    }

    [Fact]
    public void ProjectSamplersGiveTheExactGradientInTheLimit()
    {
        // The project's own exact and Gibbs samplers feed the same gradient as the exact negative phase.
        var p = Reference.RandomParameters(7, 6, 1, 83, 0.8);
        var set = Reference.RandomSet(4, 7, 1, 84);
        var exact = p.ZerosLike();
        Ebm.ExactGradient(p, set.X, set.Y, set.Count, exact);
        var problems = EbmProblemBuilder.Build(p, set.X, set.Count);
        foreach (ISampler sampler in new ISampler[] { new ExactSampler(), new GibbsSampler(new GibbsOptions(Sweeps: 20100, BurnIn: 100, Thinning: 1)) })
        {
            var sets = problems.Select((b, i) => sampler.SampleAsync(b, new SampleRequest(20000, 1.0, 500 + (ulong)i)).GetAwaiter().GetResult()).ToList();
            var g = p.ZerosLike();
            Ebm.SampledGradient(p, set.X, set.Y, set.Count, sets, g);
            double err = Reference.RelativeError(g, exact);
            Assert.True(err < 0.05, $"{sampler.Name}: sampled gradient differs from the exact one by {err}");
        }
    }

    [Fact]
    public void OutputStatesAreReadWhateverTheVartype()
    {
        var p = Reference.RandomParameters(3, 2, 1, 91, 0.5);
        var bqm = EbmProblemBuilder.Build(p, new float[] { 0.1f, 0.2f, 0.3f }, 1)[0];
        var samples = new sbyte[] { 1, 0, 1, 0, 1, 0 };
        var set = SampleSet.FromSamples(bqm, samples, SampleInfo.For("t"));
        Assert.Equal(new[] { 1, 0 }, EbmProblemBuilder.OutputStates(set, 2, 1));
        Assert.Equal(new[] { 1, 0 }, EbmProblemBuilder.OutputStates(set.ChangeVartype(Vartype.Spin), 2, 1));
        Assert.Equal(new byte[] { 1, 0 }, EbmProblemBuilder.HiddenState(set, 0, 2));
        var w = new double[2];
        EbmProblemBuilder.OutputWeights(set, EbmProblemBuilder.OutputColumns(set, 2, 1), w);
        Assert.Equal(new[] { 0.5, 0.5 }, w);
    }
}
