using System.Buffers;
using System.Numerics.Tensors;
using QaActors.Data;

namespace QaActors.Learning;

/// <summary>
/// The deterministic network of docs/math.md ("The MLP"): a = W1x + b, h = σ(a), z = σ(W2h + c); loss is the binary cross-entropy
/// averaged over the batch, computed from the logit o = W2h + c as softplus(o) − y·o so it stays finite when z
/// rounds to 0 or 1. Batch work runs on fixed row chunks and reduces in row order, so results never depend on the
/// number of threads.
/// </summary>
public static class Mlp
{
    private const int Chunk = 64;

    /// <summary>From the pre-activation A (rows×K): H = σ(A) (rows×K) and the logits O = H·W2ᵀ + c (rows×M).</summary>
    public static void ForwardFromPreActivation(MlpParameters p, ReadOnlySpan<float> a, int rows, Span<float> h, Span<float> logits)
    {
        int k = p.Hidden, mOut = p.Outputs;
        TensorPrimitives.Sigmoid(a[..(rows * k)], h[..(rows * k)]);
        for (int i = 0; i < rows; i++)
        {
            var hi = h.Slice(i * k, k);
            for (int m = 0; m < mOut; m++) logits[i * mOut + m] = TensorPrimitives.Dot(hi, p.W2.AsSpan(m * k, k)) + p.C[m];
        }
    }

    /// <summary>Output probabilities z (rows×M) for inputs X (rows×N).</summary>
    public static float[] Probabilities(MlpParameters p, ReadOnlySpan<float> x, int rows)
    {
        var logits = Logits(p, x, rows);
        TensorPrimitives.Sigmoid(logits, logits);
        return logits;
    }

    /// <summary>Output logits o = W2σ(W1x + b) + c (rows×M).</summary>
    public static float[] Logits(MlpParameters p, ReadOnlySpan<float> x, int rows)
    {
        int k = p.Hidden;
        var a = Buffers.Rent(rows * k);
        try
        {
            Numerics.HiddenPreActivation(p, x, rows, a);
            var logits = new float[rows * p.Outputs];
            ForwardFromPreActivation(p, a, rows, a, logits);
            return logits;
        }
        finally { Buffers.Return(a); }
    }

    /// <summary>Binary cross-entropy (nats) of one output given its logit, stable for any logit.</summary>
    public static double CrossEntropyFromLogit(double logit, int y) => Numerics.Softplus(logit) - y * logit;

    /// <summary>Mean over rows of Σ_m BCE(z_m, y_m), from logits.</summary>
    public static double MeanCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<byte> y, int rows, int outputs)
    {
        double s = 0;
        for (int i = 0; i < rows; i++)
            for (int m = 0; m < outputs; m++) s += CrossEntropyFromLogit(logits[i * outputs + m], Numerics.LabelBit(y[i], m));
        return rows == 0 ? 0 : s / rows;
    }

    /// <summary>
    /// Backprop (docs/math.md, "The MLP"): the gradient of the batch-mean BCE loss written into <paramref name="grad"/> (overwritten);
    /// returns the mean loss. δ = z − y;  ∂W2 = δhᵀ, ∂c = δ, ∂b = (W2ᵀδ)⊙h⊙(1−h), ∂W1 = ∂b·xᵀ, each averaged over
    /// the rows. This is a loss gradient: Adam takes it as it is.
    /// </summary>
    public static double Gradient(MlpParameters p, ReadOnlySpan<float> x, ReadOnlySpan<byte> y, int rows, MlpParameters grad)
    {
        p.RequireSameShape(grad, nameof(grad));
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "a batch needs at least one example");
        Numerics.CheckLabels(y, rows, p.Outputs, "batch");
        int n = p.Inputs, k = p.Hidden, mOut = p.Outputs;
        var h = Buffers.Rent(rows * k);
        var g = Buffers.Rent(rows * k);
        var delta = new float[rows * mOut];
        var loss = new double[rows];
        var yArr = y[..rows].ToArray();
        try
        {
            Numerics.HiddenPreActivation(p, x, rows, h);
            float invRows = 1f / rows;
            var w2 = p.W2;
            var c = p.C;
            Numerics.ForChunks(rows, Chunk, (r0, r1) =>
            {
                var back = new float[k];
                var tmp = new float[k];
                for (int i = r0; i < r1; i++)
                {
                    var hi = h.AsSpan(i * k, k);
                    TensorPrimitives.Sigmoid(hi, hi);
                    back.AsSpan().Clear();
                    double li = 0;
                    for (int m = 0; m < mOut; m++)
                    {
                        var w2m = w2.AsSpan(m * k, k);
                        double o = TensorPrimitives.Dot(hi, w2m) + c[m];
                        int ym = Numerics.LabelBit(yArr[i], m);
                        li += CrossEntropyFromLogit(o, ym);
                        float d = (float)((Numerics.Sigmoid(o) - ym) * invRows);
                        delta[i * mOut + m] = d;
                        TensorPrimitives.MultiplyAdd(w2m, d, back, back);
                    }
                    loss[i] = li;
                    // g = back ⊙ h ⊙ (1 − h)
                    var gi = g.AsSpan(i * k, k);
                    TensorPrimitives.Multiply(back, hi, gi);
                    TensorPrimitives.Subtract(1f, hi, tmp);
                    TensorPrimitives.Multiply(gi, tmp, gi);
                }
            });
            Reduce(g, h, delta, rows, k, mOut, grad);
            Numerics.WeightGradient(g.AsSpan(0, rows * k), x, rows, k, n, grad.W1);
            double total = 0;
            for (int i = 0; i < rows; i++) total += loss[i];
            return total / rows;
        }
        finally
        {
            Buffers.Return(h);
            Buffers.Return(g);
        }
    }

    /// <summary>Row-ordered sums: ∂b = Σ_i G_i, ∂W2_m = Σ_i δ_im H_i, ∂c = Σ_i δ_i.</summary>
    internal static void Reduce(float[] g, float[] h, float[] delta, int rows, int k, int mOut, MlpParameters grad)
    {
        Array.Clear(grad.B);
        Array.Clear(grad.W2);
        Array.Clear(grad.C);
        for (int i = 0; i < rows; i++)
        {
            TensorPrimitives.Add(grad.B, g.AsSpan(i * k, k), grad.B);
            for (int m = 0; m < mOut; m++)
            {
                var w = grad.W2.AsSpan(m * k, k);
                TensorPrimitives.MultiplyAdd(h.AsSpan(i * k, k), delta[i * mOut + m], w, w);
                grad.C[m] += delta[i * mOut + m];
            }
        }
    }
}
