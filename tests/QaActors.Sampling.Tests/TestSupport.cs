using QaActors.Sampling;

namespace QaActors.Sampling.Tests;

/// <summary>Random problems and distribution statistics shared by the tests.</summary>
internal static class TestSupport
{
    /// <summary>The kernel a dense bipartite problem runs on, on every CPU (at that CPU's vector width).</summary>
    public const string DenseKernel = "dense_bipartite";

    /// <summary>Every pair coupled with probability <paramref name="density"/>; biases uniform in ±hScale, ±jScale.</summary>
    public static Bqm Random(int n, double density, double hScale, double jScale, ulong seed, Vartype vartype = Vartype.Spin)
    {
        var rng = new Rng(seed);
        var b = new BqmBuilder(vartype);
        for (int i = 0; i < n; i++) b.AddVariable(100 + 7 * i, hScale * (2 * rng.NextDouble() - 1));
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (rng.NextDouble() < density) b.AddInteraction(100 + 7 * i, 100 + 7 * j, jScale * (2 * rng.NextDouble() - 1));
        b.AddOffset(rng.NextDouble());
        return b.Build();
    }

    /// <summary>Complete bipartite graph between sides of size <paramref name="a"/> and <paramref name="b"/>, labels interleaved so sides are not contiguous.</summary>
    public static Bqm CompleteBipartite(int a, int b, double hScale, double jScale, ulong seed, Vartype vartype = Vartype.Spin)
    {
        var rng = new Rng(seed);
        var bld = new BqmBuilder(vartype);
        int n = a + b;
        for (int i = 0; i < n; i++) bld.AddVariable(i, hScale * (2 * rng.NextDouble() - 1));
        // side A = every third variable up to a of them, the rest side B
        var sideA = Enumerable.Range(0, n).Where(i => i % 3 == 1).Take(a).ToHashSet();
        foreach (int u in sideA)
            for (int v = 0; v < n; v++)
                if (!sideA.Contains(v)) bld.AddInteraction(u, v, jScale * (2 * rng.NextDouble() - 1));
        return bld.Build();
    }

    /// <summary>State index of a row: bit i set when variable i (in the set's column order) takes its upper value.</summary>
    public static int StateIndex(ReadOnlySpan<sbyte> row)
    {
        int s = 0;
        for (int i = 0; i < row.Length; i++) if (row[i] == 1) s |= 1 << i;
        return s;
    }

    public static double[] Empirical(SampleSet set)
    {
        var p = new double[1 << set.NumVariables];
        for (int r = 0; r < set.NumRows; r++) p[StateIndex(set.Row(r))] += set.NumOccurrences[r];
        for (int s = 0; s < p.Length; s++) p[s] /= set.TotalReads;
        return p;
    }

    public static double TotalVariation(double[] p, double[] q)
    {
        double d = 0;
        for (int s = 0; s < p.Length; s++) d += Math.Abs(p[s] - q[s]);
        return d / 2;
    }

    /// <summary>
    /// The tolerance for "N samples come from p": the TV distance between p and the empirical distribution of N
    /// independent draws from p, simulated <paramref name="replicates"/> times (its null distribution), mean + 6 sd.
    /// A sampler with the right law exceeds it with negligible probability; one whose law is off by more than the
    /// tolerance exceeds it almost surely.
    /// </summary>
    public static (double Mean, double Threshold) TvNullThreshold(double[] p, int n, ulong seed, int replicates = 30)
    {
        var cdf = new double[p.Length];
        double c = 0;
        for (int s = 0; s < p.Length; s++) { c += p[s]; cdf[s] = c; }
        var rng = new Rng(seed);
        var tv = new double[replicates];
        var counts = new double[p.Length];
        for (int k = 0; k < replicates; k++)
        {
            Array.Clear(counts);
            for (int r = 0; r < n; r++)
            {
                int idx = Array.BinarySearch(cdf, rng.NextDouble() * c);
                if (idx < 0) idx = ~idx;
                counts[Math.Min(idx, p.Length - 1)] += 1.0 / n;
            }
            tv[k] = TotalVariation(p, counts);
        }
        double mean = tv.Average();
        double sd = Math.Sqrt(tv.Sum(x => (x - mean) * (x - mean)) / (replicates - 1));
        return (mean, mean + 6 * sd);
    }

    public static SampleSet Run(this ISampler s, Bqm bqm, int reads, double beta, ulong seed) =>
        s.SampleAsync(bqm, new SampleRequest(reads, beta, seed)).GetAwaiter().GetResult();
}
