using System.Runtime.Intrinsics;
using QaActors.Sampling;

namespace QaActors.Sampling.Tests;

/// <summary>
/// The vector kernels give the same bits at every vector width, so a chain checkpointed on an AVX-512 node continues
/// bit for bit on an AVX2, NEON or SIMD-less one. Each width is forced in-process (a width the CPU lacks still runs,
/// through .NET's software fallback), and deploy/test.sh checks the same across real DOTNET_Enable* settings.
/// </summary>
public class CrossWidthTests
{
    private static readonly SimdWidth[] Widths = [SimdWidth.V512, SimdWidth.V256, SimdWidth.V128, SimdWidth.Scalar];

    public static TheoryData<string, string> Cases => new()
    {
        { "gibbs", "star549" }, { "gibbs_thinned", "star549" }, { "anneal", "star549" }, { "anneal_constant", "star549" },
        { "gibbs", "dense5x37" }, { "gibbs_thinned", "dense5x37" }, { "anneal", "dense5x37" }, { "anneal_constant", "dense5x37" },
        { "anneal", "sparse40" }, { "anneal_constant", "sparse40" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryWidthDrawsTheSameSamples(string sampler, string problem)
    {
        // 5 × 37: several side-A spins (the EBM's shape) and a side B that is not a multiple of the 16 lanes.
        // sparse40: no bipartite structure, so anneal runs its lane kernel (24 reads: one full group of 16 and one of 8).
        var bqm = problem switch
        {
            "star549" => StarProblem.Create(549),
            "sparse40" => TestSupport.Random(40, 0.15, 1.0, 1.0, 24),
            _ => TestSupport.CompleteBipartite(5, 37, 1.5, 1.5, 23, Vartype.Binary),
        };
        double beta = problem == "star549" ? 0.2 : 0.7;
        SampleSet Run(SimdWidth w)
        {
            ISampler s = sampler switch
            {
                "gibbs" => new GibbsSampler(new GibbsOptions(Sweeps: 40)) { Width = w },
                "gibbs_thinned" => new GibbsSampler(new GibbsOptions(Sweeps: 60, BurnIn: 10, Thinning: 5)) { Width = w },
                "anneal" => new AnnealSampler(new AnnealOptions(40, (0.05, 3.0), AnnealSchedule.Geometric)) { Width = w },
                _ => new AnnealSampler(AnnealOptions.ConstantAtRequestBeta(40)) { Width = w },
            };
            return s.Run(bqm, 24, beta, 99);
        }
        var reference = Run(SimdWidth.V512);
        Assert.Equal(problem == "sparse40" ? "sparse_lanes" : TestSupport.DenseKernel, reference.Info.Notes["kernel"]);
        // the comparison has something to compare: the reads differ from one another
        Assert.Contains(Enumerable.Range(1, reference.NumRows - 1), r => !reference.Row(r).SequenceEqual(reference.Row(0)));
        foreach (var w in Widths[1..])
        {
            var other = Run(w);
            Assert.True(reference.Samples.SequenceEqual(other.Samples), $"{sampler} on {problem}: width {w} draws other samples than V512");
        }
        // and the automatic choice is one of them
        var auto = Run(SimdWidth.Auto);
        Assert.True(reference.Samples.SequenceEqual(auto.Samples));
    }

    /// <summary>A different seed changes the samples, so the equality above is not one of constant output.</summary>
    [Fact]
    public void TheComparisonWouldSeeADifference()
    {
        var star = StarProblem.Create(549);
        var g = new GibbsSampler(new GibbsOptions(Sweeps: 40)) { Width = SimdWidth.Scalar };
        Assert.False(g.Run(star, 24, 0.2, 99).Samples.SequenceEqual(g.Run(star, 24, 0.2, 100).Samples));
    }

    [Fact]
    public void ExpAndUniformsAgreeBitForBitAcrossWidths()
    {
        var xs = new float[16 * 20000];
        var rng = new Rng(3);
        for (int k = 0; k < xs.Length; k++)
        {
            // the whole range, both clamps and the results that are subnormal or near 1
            xs[k] = (k % 4) switch
            {
                0 => -100f + 200f * (float)rng.NextDouble(),
                1 => -87.4f + 0.2f * (float)rng.NextDouble(),
                2 => -1e-3f + 2e-3f * (float)rng.NextDouble(),
                _ => 87.2f + 0.2f * (float)rng.NextDouble(),
            };
        }
        for (int k = 0; k < xs.Length; k += 16)
        {
            ref float p = ref xs[k];
            var e512 = Lanes512.Exp(Lanes512.Load(ref p, 0));
            var e256 = Lanes256.Exp(Lanes256.Load(ref p, 0));
            var e128 = Lanes128.Exp(Lanes128.Load(ref p, 0));
            var e1 = LanesScalar.Exp(LanesScalar.Load(ref p, 0));
            for (int l = 0; l < 16; l++)
            {
                uint want = BitConverter.SingleToUInt32Bits(e512[l]);
                Assert.Equal(want, BitConverter.SingleToUInt32Bits(Lane(e256, l)));
                Assert.Equal(want, BitConverter.SingleToUInt32Bits(Lane(e128, l)));
                Assert.Equal(want, BitConverter.SingleToUInt32Bits(e1[l]));
                Assert.Equal(want, BitConverter.SingleToUInt32Bits(SimdMath.Exp(xs[k + l])));
            }
            var sum = Lanes512.Sum(Lanes512.Load(ref p, 0));
            Assert.Equal(sum, Lanes256.Sum(Lanes256.Load(ref p, 0)));
            Assert.Equal(sum, Lanes128.Sum(Lanes128.Load(ref p, 0)));
            Assert.Equal(sum, LanesScalar.Sum(LanesScalar.Load(ref p, 0)));
        }

        var seeder = new Rng(11);
        Span<uint> words = stackalloc uint[64];
        LaneRng.SeedWords(ref seeder, words);
        Vector512<uint> a0 = Lanes512.Seed(words[..16]), a1 = Lanes512.Seed(words[16..32]), a2 = Lanes512.Seed(words[32..48]), a3 = Lanes512.Seed(words[48..]);
        U256x2 b0 = Lanes256.Seed(words[..16]), b1 = Lanes256.Seed(words[16..32]), b2 = Lanes256.Seed(words[32..48]), b3 = Lanes256.Seed(words[48..]);
        U128x4 c0 = Lanes128.Seed(words[..16]), c1 = Lanes128.Seed(words[16..32]), c2 = Lanes128.Seed(words[32..48]), c3 = Lanes128.Seed(words[48..]);
        U1x16 d0 = LanesScalar.Seed(words[..16]), d1 = LanesScalar.Seed(words[16..32]), d2 = LanesScalar.Seed(words[32..48]), d3 = LanesScalar.Seed(words[48..]);
        for (int k = 0; k < 1000; k++)
        {
            var u512 = Lanes512.NextOddScaled(ref a0, ref a1, ref a2, ref a3);
            var u256 = Lanes256.NextOddScaled(ref b0, ref b1, ref b2, ref b3);
            var u128 = Lanes128.NextOddScaled(ref c0, ref c1, ref c2, ref c3);
            var u1 = LanesScalar.NextOddScaled(ref d0, ref d1, ref d2, ref d3);
            for (int l = 0; l < 16; l++)
            {
                Assert.Equal(u512[l], Lane(u256, l));
                Assert.Equal(u512[l], Lane(u128, l));
                Assert.Equal(u512[l], u1[l]);
            }
        }
    }

    private static float Lane(F256x2 v, int l) => l < 8 ? v.Lo[l] : v.Hi[l - 8];

    private static float Lane(F128x4 v, int l) => (l / 4) switch { 0 => v.A[l % 4], 1 => v.B[l % 4], 2 => v.C[l % 4], _ => v.D[l % 4] };
}
