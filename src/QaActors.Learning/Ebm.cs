using System.Buffers;
using System.Numerics.Tensors;
using QaActors.Sampling;

namespace QaActors.Learning;

/// <summary>
/// The energy-based model of docs/math.md ("The EBM") over binary hidden units k and outputs y given x, sharing
/// <see cref="MlpParameters"/> with the MLP: S(k,y|x) = kᵀa + yᵀc + yᵀW2k with a = W1x + b. Output states y' are
/// indexed by an integer whose bit m is y'_m (so for M = 1 the index is the label). Summing k out gives the exact
/// conditional log P̃(y|x) = yᵀc + Σ_j softplus(a_j + (W2ᵀy)_j), normalised over the 2^M states; it is evaluated
/// relative to y = 0 (Σ_j [softplus(a_j + (W2ᵀy)_j) − softplus(a_j)], small terms) so float sums keep their precision.
/// </summary>
public static class Ebm
{
    /// <summary>Largest M for which the 2^M-term exact conditional and gradients are computed.</summary>
    public const int MaxOutputs = 12;
    private const int Chunk = 32;

    /// <summary>
    /// The negative phase for one example: fills <paramref name="weights"/> (length 2^M, zeroed on entry) with the
    /// distribution of y' to average over, given the exact log P(y'|x) in <paramref name="logConditional"/>.
    /// </summary>
    public delegate void NegativePhase(int row, ReadOnlySpan<double> logConditional, Span<double> weights);

    /// <summary>Exact log P(y'|x) for all 2^M states from one example's pre-activation a (length K).</summary>
    public static void LogConditional(MlpParameters p, ReadOnlySpan<float> a, Span<double> logp)
    {
        CheckOutputs(p);
        int k = p.Hidden, states = 1 << p.Outputs;
        if (logp.Length < states) throw new ArgumentException($"need room for {states} states", nameof(logp));
        var buf = new float[3 * k];
        LogConditionalCore(p, a, logp, buf, null);
    }

    /// <summary>
    /// Fills logp[y'] and, when <paramref name="sig"/> is given (2^M × K), σ(a + W2ᵀy') per state. buf holds 3K floats.
    /// </summary>
    private static void LogConditionalCore(MlpParameters p, ReadOnlySpan<float> a, Span<double> logp, Span<float> buf, float[]? sig)
    {
        int k = p.Hidden, mOut = p.Outputs, states = 1 << mOut;
        if (mOut == 1)
        {
            // One output: both states' terms in a single fused pass.
            var s0 = sig is null ? buf[..k] : sig.AsSpan(0, k);
            var s1 = sig is null ? buf.Slice(k, k) : sig.AsSpan(k, k);
            double logit = p.C[0] + Numerics.SoftplusDifferenceAndSigmoids(a, p.W2.AsSpan(0, k), s0, s1);
            // log σ(±logit), stably.
            logp[1] = -Numerics.Softplus(-logit);
            logp[0] = -Numerics.Softplus(logit);
            return;
        }
        var sp0 = buf[..k];
        var t = buf.Slice(k, k);
        var sp = buf.Slice(2 * k, k);
        Numerics.Softplus(a, sp0);
        double max = double.NegativeInfinity;
        for (int s = 0; s < states; s++)
        {
            a.CopyTo(t);
            double lin = 0;
            for (int m = 0; m < mOut; m++)
            {
                if (((s >> m) & 1) == 0) continue;
                TensorPrimitives.Add(t, p.W2.AsSpan(m * k, k), t);
                lin += p.C[m];
            }
            double diff = 0;
            if (s != 0)
            {
                Numerics.Softplus(t, sp);
                TensorPrimitives.Subtract(sp, sp0, sp);
                diff = TensorPrimitives.Sum<float>(sp);
            }
            logp[s] = lin + diff;
            if (logp[s] > max) max = logp[s];
            if (sig != null) TensorPrimitives.Sigmoid(t, sig.AsSpan(s * k, k));
        }
        double z = 0;
        for (int s = 0; s < states; s++) z += Math.Exp(logp[s] - max);
        double logZ = max + Math.Log(z);
        for (int s = 0; s < states; s++) logp[s] -= logZ;
    }

    /// <summary>
    /// M = 1 closed form: P(y=1|x) = σ(c + Σ_j [softplus(a_j + W2_j) − softplus(a_j)]) from one pre-activation row.
    /// </summary>
    public static double ProbabilityOne(MlpParameters p, ReadOnlySpan<float> a)
    {
        if (p.Outputs != 1) throw new ArgumentException($"the closed form is for one output; this model has {p.Outputs}");
        int k = p.Hidden;
        var buf = ArrayPool<float>.Shared.Rent(2 * k);
        try { return Numerics.Sigmoid(LogitOne(p, a, buf)); }
        finally { ArrayPool<float>.Shared.Return(buf); }
    }

    private static double LogitOne(MlpParameters p, ReadOnlySpan<float> a, float[] buf)
    {
        int k = p.Hidden;
        var sp0 = buf.AsSpan(0, k);
        var sp1 = buf.AsSpan(k, k);
        Numerics.Softplus(a, sp0);
        TensorPrimitives.Add(a, p.W2.AsSpan(0, k), sp1);
        Numerics.Softplus(sp1, sp1);
        TensorPrimitives.Subtract(sp1, sp0, sp1);
        return p.C[0] + TensorPrimitives.Sum<float>(sp1);
    }

    /// <summary>
    /// Per row, from the pre-activation A (rows×K): the exact log P(y = label | x), the marginals P(y_m = 1 | x)
    /// (rows×M; for M = 1 the closed form's P(y=1|x)) and the EBM's prediction, the most probable state
    /// (M = 1: P(y=1|x) &gt; 0.5, ties to 0).
    /// </summary>
    public static void Evaluate(MlpParameters p, ReadOnlySpan<float> preActivation, ReadOnlySpan<byte> y, int rows,
        Span<double> logLikelihood, Span<double> marginals, Span<int> predicted) =>
        Evaluate(p, preActivation[..(rows * p.Hidden)].ToArray(), y[..rows].ToArray(), rows, logLikelihood, marginals, predicted);

    internal static void Evaluate(MlpParameters p, float[] aArr, byte[] yArr, int rows,
        Span<double> logLikelihood, Span<double> marginals, Span<int> predicted)
    {
        CheckOutputs(p);
        int k = p.Hidden, mOut = p.Outputs, states = 1 << mOut;
        var ll = new double[rows];
        var marg = new double[rows * mOut];
        var pred = new int[rows];
        Numerics.ForChunks(rows, Chunk, (r0, r1) =>
        {
            var buf = new float[3 * k];
            var logp = new double[states];
            for (int i = r0; i < r1; i++)
            {
                LogConditionalCore(p, aArr.AsSpan(i * k, k), logp, buf, null);
                ll[i] = logp[yArr[i]];
                int best = 0;
                for (int s = 1; s < states; s++) if (logp[s] > logp[best]) best = s;
                pred[i] = best;
                for (int s = 1; s < states; s++)
                {
                    double ps = Math.Exp(logp[s]);
                    for (int m = 0; m < mOut; m++) if (((s >> m) & 1) == 1) marg[i * mOut + m] += ps;
                }
            }
        });
        ll.CopyTo(logLikelihood);
        if (!marginals.IsEmpty) marg.CopyTo(marginals);
        if (!predicted.IsEmpty) pred.CopyTo(predicted);
    }

    /// <summary>
    /// Gradient of the batch-mean log P(y|x) (ASCENT direction; feed its negation to Adam) with the negative phase
    /// taken exactly, E_{y'~P(·|x)} over all 2^M states. Written into <paramref name="grad"/>; returns mean log P(y|x).
    /// </summary>
    public static double ExactGradient(MlpParameters p, ReadOnlySpan<float> x, ReadOnlySpan<byte> y, int rows, MlpParameters grad) =>
        Gradient(p, x, y, rows, grad, static (_, logp, w) =>
        {
            for (int s = 0; s < w.Length; s++) w[s] = Math.Exp(logp[s]);
        });

    /// <summary>
    /// The same gradient with the negative phase estimated from one sample set per row (<paramref name="samples"/>[i]
    /// for row i, any vartype, variables labelled as <see cref="EbmProblemBuilder"/> does): each read's y' counts
    /// with its occurrence weight, and the hidden units are Rao-Blackwellised, E_{y'} σ(a + W2ᵀy') instead of the
    /// sampled k (docs/math.md, "Gradients of the EBM"). Returns the exact mean log P(y|x) of the batch (a metric, not used by the gradient).
    /// </summary>
    public static double SampledGradient(MlpParameters p, ReadOnlySpan<float> x, ReadOnlySpan<byte> y, int rows,
        IReadOnlyList<SampleSet> samples, MlpParameters grad)
    {
        if (samples.Count != rows) throw new ArgumentException($"{samples.Count} sample sets for {rows} examples; one per example is needed", nameof(samples));
        var cols = new int[rows][];
        for (int i = 0; i < rows; i++) cols[i] = EbmProblemBuilder.OutputColumns(samples[i], p.Hidden, p.Outputs);
        return Gradient(p, x, y, rows, grad, (row, _, w) => EbmProblemBuilder.OutputWeights(samples[row], cols[row], w));
    }

    /// <summary>Gradient of the batch-mean log P(y|x) with any negative phase (see <see cref="NegativePhase"/>).</summary>
    public static double Gradient(MlpParameters p, ReadOnlySpan<float> x, ReadOnlySpan<byte> y, int rows, MlpParameters grad, NegativePhase negative)
    {
        CheckOutputs(p);
        p.RequireSameShape(grad, nameof(grad));
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "a batch needs at least one example");
        Numerics.CheckLabels(y, rows, p.Outputs, "batch");
        int n = p.Inputs, k = p.Hidden, mOut = p.Outputs, states = 1 << mOut;
        var a = Buffers.Rent(rows * k);
        var d = Buffers.Rent(rows * k);
        var e = Buffers.Rent(rows * mOut * k);
        var dc = new float[rows * mOut];
        var ll = new double[rows];
        var yArr = y[..rows].ToArray();
        try
        {
            Numerics.HiddenPreActivation(p, x, rows, a);
            float inv = 1f / rows;
            Numerics.ForChunks(rows, Chunk, (r0, r1) =>
            {
                var buf = new float[3 * k];
                var sig = new float[states * k];
                var logp = new double[states];
                var w = new double[states];
                for (int i = r0; i < r1; i++)
                {
                    LogConditionalCore(p, a.AsSpan(i * k, k), logp, buf, sig);
                    int yi = yArr[i];
                    ll[i] = logp[yi];
                    Array.Clear(w);
                    negative(i, logp, w);
                    var di = d.AsSpan(i * k, k);
                    // Positive phase σ(a + W2ᵀy) minus the negative phase Σ_y' w(y') σ(a + W2ᵀy'), scaled by 1/rows.
                    TensorPrimitives.Multiply(sig.AsSpan(yi * k, k), inv, di);
                    for (int m = 0; m < mOut; m++)
                    {
                        var em = e.AsSpan((i * mOut + m) * k, k);
                        if (((yi >> m) & 1) == 1) TensorPrimitives.Multiply(sig.AsSpan(yi * k, k), inv, em);
                        else em.Clear();
                        dc[i * mOut + m] = ((yi >> m) & 1) * inv;
                    }
                    for (int s = 0; s < states; s++)
                    {
                        if (w[s] == 0) continue;
                        float ws = (float)(-w[s] * inv);
                        var ss = sig.AsSpan(s * k, k);
                        TensorPrimitives.MultiplyAdd(ss, ws, di, di);
                        for (int m = 0; m < mOut; m++)
                        {
                            if (((s >> m) & 1) == 0) continue;
                            var em = e.AsSpan((i * mOut + m) * k, k);
                            TensorPrimitives.MultiplyAdd(ss, ws, em, em);
                            dc[i * mOut + m] += ws;
                        }
                    }
                }
            });
            Array.Clear(grad.B);
            Array.Clear(grad.W2);
            Array.Clear(grad.C);
            for (int i = 0; i < rows; i++)
            {
                TensorPrimitives.Add(grad.B, d.AsSpan(i * k, k), grad.B);
                TensorPrimitives.Add(grad.W2, e.AsSpan(i * mOut * k, mOut * k), grad.W2);
                for (int m = 0; m < mOut; m++) grad.C[m] += dc[i * mOut + m];
            }
            Numerics.WeightGradient(d.AsSpan(0, rows * k), x, rows, k, n, grad.W1);
            double total = 0;
            for (int i = 0; i < rows; i++) total += ll[i];
            return total / rows;
        }
        finally
        {
            Buffers.Return(a);
            Buffers.Return(d);
            Buffers.Return(e);
        }
    }

    internal static void CheckOutputs(MlpParameters p)
    {
        if (p.Outputs > MaxOutputs)
            throw new ArgumentException($"the EBM enumerates 2^M output states; M = {p.Outputs} exceeds the supported {MaxOutputs}");
    }
}
