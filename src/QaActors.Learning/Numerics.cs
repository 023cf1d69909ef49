using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using QaActors.Data;

namespace QaActors.Learning;

/// <summary>Element-wise helpers and the batched hidden pre-activation shared by the MLP and the EBM.</summary>
public static class Numerics
{
    /// <summary>dst = softplus(t) = log(1 + e^t), computed as max(t,0) + log(1 + e^−|t|) so it never overflows.</summary>
    public static void Softplus(ReadOnlySpan<float> t, Span<float> dst)
    {
        if (dst.Length < t.Length) throw new ArgumentException("destination is shorter than the input", nameof(dst));
        dst = dst[..t.Length];
        if (t.Overlaps(dst))
        {
            var copy = System.Buffers.ArrayPool<float>.Shared.Rent(t.Length);
            try
            {
                t.CopyTo(copy);
                Softplus(copy.AsSpan(0, t.Length), dst);
            }
            finally { System.Buffers.ArrayPool<float>.Shared.Return(copy); }
            return;
        }
        TensorPrimitives.Abs(t, dst);
        TensorPrimitives.Negate(dst, dst);
        TensorPrimitives.Exp(dst, dst);
        TensorPrimitives.Add(dst, 1f, dst);
        TensorPrimitives.Log(dst, dst);
        for (int i = 0; i < t.Length; i++) if (t[i] > 0) dst[i] += t[i];
    }

    /// <summary>
    /// The one-output EBM's per-example terms in one pass: s0 = σ(a), s1 = σ(a + w), and the return value
    /// Σ_j [softplus(a_j + w_j) − softplus(a_j)] (the M = 1 closed form's logit minus c). With e = exp(−|t|):
    /// softplus(t) = max(t,0) + log(1+e) and σ(t) = 1/(1+e) for t ≥ 0, e/(1+e) otherwise (no cancellation).
    /// </summary>
    public static double SoftplusDifferenceAndSigmoids(ReadOnlySpan<float> a, ReadOnlySpan<float> w, Span<float> s0, Span<float> s1)
    {
        int k = a.Length;
        if (w.Length < k || s0.Length < k || s1.Length < k) throw new ArgumentException("all spans need the length of a");
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rw = ref MemoryMarshal.GetReference(w);
        ref float r0 = ref MemoryMarshal.GetReference(s0);
        ref float r1 = ref MemoryMarshal.GetReference(s1);
        int j = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var acc = Vector512<float>.Zero;
            var one = Vector512<float>.One;
            for (; j <= k - 16; j += 16)
            {
                var va = Vector512.LoadUnsafe(ref ra, (nuint)j);
                var vt = va + Vector512.LoadUnsafe(ref rw, (nuint)j);
                var ea = Vector512.Exp(-Vector512.Abs(va));
                var et = Vector512.Exp(-Vector512.Abs(vt));
                var pa = one + ea;
                var pt = one + et;
                acc += Vector512.Max(vt, Vector512<float>.Zero) + Vector512.Log(pt) - Vector512.Max(va, Vector512<float>.Zero) - Vector512.Log(pa);
                var ia = one / pa;
                var it = one / pt;
                Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(va, Vector512<float>.Zero), ia, ea * ia).StoreUnsafe(ref r0, (nuint)j);
                Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(vt, Vector512<float>.Zero), it, et * it).StoreUnsafe(ref r1, (nuint)j);
            }
            sum = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var acc = Vector256<float>.Zero;
            var one = Vector256<float>.One;
            for (; j <= k - 8; j += 8)
            {
                var va = Vector256.LoadUnsafe(ref ra, (nuint)j);
                var vt = va + Vector256.LoadUnsafe(ref rw, (nuint)j);
                var ea = Vector256.Exp(-Vector256.Abs(va));
                var et = Vector256.Exp(-Vector256.Abs(vt));
                var pa = one + ea;
                var pt = one + et;
                acc += Vector256.Max(vt, Vector256<float>.Zero) + Vector256.Log(pt) - Vector256.Max(va, Vector256<float>.Zero) - Vector256.Log(pa);
                var ia = one / pa;
                var it = one / pt;
                Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(va, Vector256<float>.Zero), ia, ea * ia).StoreUnsafe(ref r0, (nuint)j);
                Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(vt, Vector256<float>.Zero), it, et * it).StoreUnsafe(ref r1, (nuint)j);
            }
            sum = Vector256.Sum(acc);
        }
        for (; j < k; j++)
        {
            float t = a[j] + w[j];
            sum += Softplus(t) - Softplus(a[j]);
            s0[j] = (float)Sigmoid(a[j]);
            s1[j] = (float)Sigmoid(t);
        }
        return sum;
    }

    /// <summary>Scalar softplus in double, stable for any argument.</summary>
    public static double Softplus(double t) => t > 0 ? t + Math.Log(1 + Math.Exp(-t)) : Math.Log(1 + Math.Exp(t));

    public static double Sigmoid(double t) => t >= 0 ? 1 / (1 + Math.Exp(-t)) : Math.Exp(t) / (1 + Math.Exp(t));

    /// <summary>
    /// The batched hidden pre-activation A = X·W1ᵀ + b for <paramref name="rows"/> examples (X row-major rows×N,
    /// A row-major rows×K): one blocked GEMM over the whole batch, both cores when the batch is large.
    /// </summary>
    public static void HiddenPreActivation(MlpParameters p, ReadOnlySpan<float> x, int rows, Span<float> a)
    {
        int n = p.Inputs, k = p.Hidden;
        if (x.Length < rows * n) throw new ArgumentException($"the inputs hold {x.Length} values, {rows} rows of {n} need {rows * n}", nameof(x));
        if (a.Length < rows * k) throw new ArgumentException($"the output holds {a.Length} values, {rows} rows of {k} need {rows * k}", nameof(a));
        if (rows == 0) return;
        Gemm.Multiply(rows, k, n, x, n, false, p.W1, n, true, a, k, false);
        for (int i = 0; i < rows; i++)
        {
            var row = a.Slice(i * k, k);
            TensorPrimitives.Add(row, p.B, row);
        }
    }

    /// <summary>
    /// The first-layer weight gradient dW1 = Dᵀ·X (K×N) for per-example hidden deltas D (rows×K) and inputs X
    /// (rows×N). Computed as (Xᵀ·D)ᵀ: the GEMM's zero-skipping then works on runs of 8 pixels of one example
    /// (a fifth of Fashion-MNIST's 8-pixel runs are blank) rather than 32, and the transpose costs far less than
    /// it saves. Each element is the same ordered sum over examples either way.
    /// </summary>
    public static void WeightGradient(ReadOnlySpan<float> d, ReadOnlySpan<float> x, int rows, int k, int n, Span<float> dW1)
    {
        if (dW1.Length < k * n) throw new ArgumentException($"the gradient buffer holds {dW1.Length} values, {k}×{n} needed", nameof(dW1));
        var t = Buffers.Rent(n * k);
        try
        {
            Gemm.Multiply(n, k, rows, x, n, true, d, k, false, t, k, false);
            Transpose(t, n, k, dW1);
        }
        finally { Buffers.Return(t); }
    }

    /// <summary>dst (cols×rows) = srcᵀ for src rows×cols, in 32×32 blocks so both sides stay in cache.</summary>
    public static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        const int B = 32;
        for (int i0 = 0; i0 < rows; i0 += B)
        {
            int i1 = Math.Min(rows, i0 + B);
            for (int j0 = 0; j0 < cols; j0 += B)
            {
                int j1 = Math.Min(cols, j0 + B);
                for (int i = i0; i < i1; i++)
                    for (int j = j0; j < j1; j++) dst[j * rows + i] = src[i * cols + j];
            }
        }
    }

    /// <summary>The label bit y_m of a label value (M = 1: the label itself; M &gt; 1: bit m of the stored value).</summary>
    public static int LabelBit(byte label, int m) => (label >> m) & 1;

    internal static void CheckLabels(ReadOnlySpan<byte> y, int rows, int outputs, string what)
    {
        if (y.Length < rows) throw new ArgumentException($"{what}: {y.Length} labels for {rows} rows");
        int limit = outputs >= 8 ? 256 : 1 << outputs;
        for (int i = 0; i < rows; i++)
            if (y[i] >= limit)
                throw new ArgumentException($"{what}: label {y[i]} at row {i} does not fit {outputs} binary output(s); class-pair tasks use labels 0 and 1");
    }

    internal static void CheckSet(MlpParameters p, LabeledSet set, string what)
    {
        if (set.Features != p.Inputs)
            throw new ArgumentException($"{what} has {set.Features} features per example but the model expects {p.Inputs}; use data of the model's input size");
        CheckLabels(set.Y, set.Count, p.Outputs, what);
    }

    /// <summary>Fixed-size row chunks processed in parallel; the chunking never depends on the thread count.</summary>
    internal static void ForChunks(int rows, int chunk, Action<int, int> body)
    {
        int chunks = (rows + chunk - 1) / chunk;
        if (chunks <= 1 || Environment.ProcessorCount == 1) { for (int c = 0; c < chunks; c++) body(c * chunk, Math.Min(rows, (c + 1) * chunk)); return; }
        Parallel.For(0, chunks, c => body(c * chunk, Math.Min(rows, (c + 1) * chunk)));
    }
}
