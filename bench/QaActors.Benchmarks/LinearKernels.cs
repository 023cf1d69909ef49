using System.Diagnostics;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using QaActors.Learning;
using QaActors.Sampling;

namespace QaActors.Benchmarks;

/// <summary>
/// The batched hidden pre-activation W1·x in the units of the reference kernels' `mv batch16` (docs/operations.md, "Benchmarks")
/// (548×784 float32, 16 examples per pass, one thread, GFLOP/s counted as 2·548·784 per example), and the two
/// big training products (batch 1000, both cores).
/// </summary>
public static class LinearQuick
{
    private const int K = 548, N = 784;

    [ModuleInitializer]
    internal static void Register()
    {
        Quick.Add("mv_batch16", _ => MvBatch16(20000));
        Quick.Add("gemm_b1000", _ => Batch1000(20, sparse: false));
        Quick.Add("gemm_b1000_sparse", _ => Batch1000(20, sparse: true));
    }

    internal static (float[] w1, float[] w1t, float[] x) Data(int rows, bool sparse)
    {
        var rng = new Rng(7);
        var w1 = new float[K * N];
        var w1t = new float[N * K];
        for (int j = 0; j < K; j++)
            for (int i = 0; i < N; i++) { float w = (float)(0.05 * rng.NextGaussian()); w1[j * N + i] = w; w1t[i * K + j] = w; }
        var x = new float[rows * N];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < N; i++)
            {
                // "sparse" mimics a 28×28 digit: a blank 4-pixel border and about half of the rest dark.
                int row = i / 28, col = i % 28;
                bool blank = sparse && (row < 4 || row >= 24 || col < 4 || col >= 24 || rng.NextDouble() < 0.5);
                x[r * N + i] = blank ? 0f : rng.NextSingle();
            }
        return (w1, w1t, x);
    }

    /// <summary>
    /// W1 is kept transposed (N×K, like the reference's column-major copy) with its leading dimension padded to a
    /// multiple of 16 floats and 64-byte aligned rows, so every 512-bit load of a row segment is one cache line.
    /// </summary>
    public static unsafe string MvBatch16(int examples)
    {
        const int NX = 1024, B = 16, Ld = (K + 15) / 16 * 16;
        var (_, w1t, x) = Data(NX, sparse: false);
        float* wp = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(N * Ld * sizeof(float)), 64);
        try
        {
            var w = new Span<float>(wp, N * Ld);
            w.Clear();
            for (int i = 0; i < N; i++) w1t.AsSpan(i * K, K).CopyTo(w.Slice(i * Ld, K));
            var a = new float[B * K];
            void Body(int n)
            {
                var wr = new ReadOnlySpan<float>(wp, N * Ld);
                for (int e = 0; e < n; e += B)
                {
                    int g = e / B % (NX / B);
                    Gemm.Multiply(B, K, N, x.AsSpan(g * B * N, B * N), N, false, wr, Ld, false, a, K, false, threads: 1);
                }
            }
            Body(2048);
            var sw = Stopwatch.StartNew();
            Body(examples);
            double secs = sw.Elapsed.TotalSeconds, ns = secs / examples * 1e9;
            return $"mv_batch16 examples={examples} time_s={secs:F6} ns_per_example={ns:F1} GFLOPs={2.0 * K * N / ns:F2} threads=1 layout=W1T(ld={Ld})";
        }
        finally { System.Runtime.InteropServices.NativeMemory.AlignedFree(wp); }
    }

    public static string Batch1000(int reps, bool sparse)
    {
        const int B = 1000;
        var (w1, _, x) = Data(B, sparse);
        var a = new float[B * K];
        var dw = new float[K * N];
        Gemm.Multiply(B, K, N, x, N, false, w1, N, true, a, K, false);
        Gemm.Multiply(K, N, B, a, K, true, x, N, false, dw, N, false);
        var sw = Stopwatch.StartNew();
        for (int r = 0; r < reps; r++) Gemm.Multiply(B, K, N, x, N, false, w1, N, true, a, K, false);
        double fwd = sw.Elapsed.TotalSeconds / reps;
        sw.Restart();
        for (int r = 0; r < reps; r++) Gemm.Multiply(K, N, B, a, K, true, x, N, false, dw, N, true);
        double grad = sw.Elapsed.TotalSeconds / reps;
        double flop = 2.0 * B * K * N;
        return $"gemm_b1000{(sparse ? "_sparse" : "")} forward_ms={fwd * 1e3:F3} forward_GFLOPs={flop / fwd / 1e9:F1} grad_ms={grad * 1e3:F3} grad_GFLOPs={flop / grad / 1e9:F1} threads={Environment.ProcessorCount} (dense-equivalent flops)";
    }
}

/// <summary>BenchmarkDotNet suite for the same products (`--filter '*Linear*'`).</summary>
[MemoryDiagnoser]
public class LinearBenchmarks
{
    private float[] _w1 = [], _w1t = [], _x = [], _a = [], _dw = [];

    [GlobalSetup]
    public void Setup()
    {
        (_w1, _w1t, _x) = LinearQuick.Data(1000, sparse: false);
        _a = new float[1000 * 548];
        _dw = new float[548 * 784];
    }

    [Benchmark]
    public void Forward16SingleThread() => Gemm.Multiply(16, 548, 784, _x, 784, false, _w1t, 548, false, _a, 548, false, threads: 1);

    [Benchmark]
    public void Forward1000() => Gemm.Multiply(1000, 548, 784, _x, 784, false, _w1, 784, true, _a, 548, false);

    [Benchmark]
    public void Gradient1000() => Gemm.Multiply(548, 784, 1000, _a, 548, true, _x, 784, false, _dw, 784, true);
}
