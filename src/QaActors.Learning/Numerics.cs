using System.Numerics.Tensors;
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
