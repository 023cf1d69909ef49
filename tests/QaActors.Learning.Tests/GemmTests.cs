using QaActors.Learning;
using QaActors.Sampling;

namespace QaActors.Learning.Tests;

public class GemmTests
{
    private static float[] Random(int n, ulong seed, double zeroFraction)
    {
        var rng = new Rng(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rng.NextDouble() < zeroFraction ? 0f : (float)rng.NextGaussian();
        return v;
    }

    private static double[] Naive(int m, int n, int k, float[] a, int lda, bool ta, float[] b, int ldb, bool tb, double[]? c0)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = c0?[i * n + j] ?? 0;
                for (int p = 0; p < k; p++)
                    s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * n + j] = s;
            }
        return c;
    }

    [Theory]
    [InlineData(1, 1, 1, false, false, false)]
    [InlineData(7, 5, 3, false, true, false)]
    [InlineData(16, 548, 784, false, false, false)]
    [InlineData(70, 548, 300, false, true, false)]
    [InlineData(37, 61, 529, true, false, false)]
    [InlineData(9, 33, 257, true, true, true)]
    [InlineData(130, 600, 70, false, true, true)]
    public void MatchesDoubleReference(int m, int n, int k, bool ta, bool tb, bool accumulate)
    {
        int lda = ta ? m : k, ldb = tb ? k : n;
        var a = Random(m * k, 1, 0.4);
        var b = Random(k * n, 2, 0.2);
        var c = Random(m * n, 3, 0);
        var c0 = c.Select(v => (double)v).ToArray();
        Gemm.Multiply(m, n, k, a, lda, ta, b, ldb, tb, c, n, accumulate);
        var expect = Naive(m, n, k, a, lda, ta, b, ldb, tb, accumulate ? c0 : null);
        for (int i = 0; i < expect.Length; i++)
            Assert.True(Math.Abs(c[i] - expect[i]) <= 1e-4 * Math.Sqrt(k) + 1e-5 * Math.Abs(expect[i]), $"element {i}: {c[i]} vs {expect[i]}");
    }

    [Fact]
    public void ThreadCountAndVectorWidthDoNotChangeTheResultBits()
    {
        int m = 300, n = 548, k = 784;
        var a = Random(m * k, 4, 0.6);
        var b = Random(n * k, 5, 0);
        var c1 = new float[m * n];
        var c2 = new float[m * n];
        var c3 = new float[m * n];
        Gemm.Multiply(m, n, k, a, k, false, b, k, true, c1, n, false, threads: 1);
        Gemm.Multiply(m, n, k, a, k, false, b, k, true, c2, n, false, threads: 2);
        Assert.Equal(c1, c2);
        try
        {
            Gemm.ForceVector256 = true;
            Gemm.Multiply(m, n, k, a, k, false, b, k, true, c3, n, false, threads: 1);
        }
        finally { Gemm.ForceVector256 = false; }
        Assert.Equal(c1, c3);
    }

    [Fact]
    public void SparseSkippingEqualsTheDenseSum()
    {
        // Rows of A that are entirely zero in a panel must give the same bits as summing the zeros.
        int m = 24, n = 64, k = 300;
        var a = Random(m * k, 6, 0.9);
        var b = Random(k * n, 7, 0);
        var c = new float[m * n];
        Gemm.Multiply(m, n, k, a, k, false, b, n, false, c, n, false, threads: 1);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                // Same association as the kernel: per 256-block partial sums added to C.
                float block = 0;
                for (int p = 0; p < k; p++)
                {
                    if (p == 256) { s = block; block = 0; }
                    block = MathF.FusedMultiplyAdd(a[i * k + p], b[p * n + j], block);
                }
                s = k > 256 ? s + block : block;
                Assert.Equal(s, c[i * n + j]);
            }
    }

    [Fact]
    public void RejectsTooSmallBuffers()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(4, 4, 4, new float[15], 4, false, new float[16], 4, false, new float[16], 4, false));
        Assert.Contains("matrix A", ex.Message);
    }
}
