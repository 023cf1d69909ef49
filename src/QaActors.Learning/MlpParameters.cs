using QaActors.Sampling;

namespace QaActors.Learning;

/// <summary>
/// The ONE parameter set shared by the MLP and the EBM (docs/math.md, "Notation"): W1 [K,N] and W2 [M,K] row-major float32,
/// hidden biases b [K], output biases c [M]. Weight transfer between the two models is the identity, so both
/// models read this type. Also used as the container for gradients and Adam moments (same shapes).
/// </summary>
public sealed class MlpParameters
{
    public int Inputs { get; }
    public int Hidden { get; }
    public int Outputs { get; }
    /// <summary>W1, K rows of N.</summary>
    public float[] W1 { get; }
    /// <summary>b, K.</summary>
    public float[] B { get; }
    /// <summary>W2, M rows of K.</summary>
    public float[] W2 { get; }
    /// <summary>c, M.</summary>
    public float[] C { get; }

    public MlpParameters(int inputs, int hidden, int outputs)
    {
        if (inputs < 1) throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "the input size must be at least 1");
        if (hidden < 1) throw new ArgumentOutOfRangeException(nameof(hidden), hidden, "the hidden size must be at least 1");
        if (outputs < 1 || outputs > 20) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "the output size must be 1..20 (the exact EBM enumerates 2^M output states)");
        Inputs = inputs;
        Hidden = hidden;
        Outputs = outputs;
        W1 = new float[hidden * inputs];
        B = new float[hidden];
        W2 = new float[outputs * hidden];
        C = new float[outputs];
    }

    /// <summary>Wraps existing arrays (no copy); shapes are checked.</summary>
    public MlpParameters(int inputs, int hidden, int outputs, float[] w1, float[] b, float[] w2, float[] c)
    {
        if (w1.Length != hidden * inputs) throw new ArgumentException($"W1 holds {w1.Length} values, [{hidden},{inputs}] needs {hidden * inputs}", nameof(w1));
        if (b.Length != hidden) throw new ArgumentException($"b holds {b.Length} values, {hidden} needed", nameof(b));
        if (w2.Length != outputs * hidden) throw new ArgumentException($"W2 holds {w2.Length} values, [{outputs},{hidden}] needs {outputs * hidden}", nameof(w2));
        if (c.Length != outputs) throw new ArgumentException($"c holds {c.Length} values, {outputs} needed", nameof(c));
        Inputs = inputs; Hidden = hidden; Outputs = outputs;
        W1 = w1; B = b; W2 = w2; C = c;
    }

    /// <summary>Total number of scalars.</summary>
    public int Count => W1.Length + B.Length + W2.Length + C.Length;

    /// <summary>The four tensors in a fixed order (W1, b, W2, c): the order of serialisation and of Adam.</summary>
    public float[][] Tensors => [W1, B, W2, C];

    /// <summary>A zero set of the same shape (gradient buffers, Adam moments).</summary>
    public MlpParameters ZerosLike() => new(Inputs, Hidden, Outputs);

    public MlpParameters Clone() => new(Inputs, Hidden, Outputs, (float[])W1.Clone(), (float[])B.Clone(), (float[])W2.Clone(), (float[])C.Clone());

    public void CopyFrom(MlpParameters other)
    {
        RequireSameShape(other, nameof(other));
        other.W1.CopyTo(W1, 0); other.B.CopyTo(B, 0); other.W2.CopyTo(W2, 0); other.C.CopyTo(C, 0);
    }

    public void Clear()
    {
        Array.Clear(W1); Array.Clear(B); Array.Clear(W2); Array.Clear(C);
    }

    public bool SameShape(MlpParameters other) => other.Inputs == Inputs && other.Hidden == Hidden && other.Outputs == Outputs;

    public void RequireSameShape(MlpParameters other, string name)
    {
        if (!SameShape(other))
            throw new ArgumentException($"{name} has shape {other.Inputs}-{other.Hidden}-{other.Outputs}, expected {Inputs}-{Hidden}-{Outputs}", name);
    }

    /// <summary>Bit-for-bit equality of every value (NaN payloads included).</summary>
    public bool BitwiseEquals(MlpParameters other)
    {
        if (!SameShape(other)) return false;
        for (int t = 0; t < 4; t++)
        {
            var x = System.Runtime.InteropServices.MemoryMarshal.AsBytes(Tensors[t].AsSpan());
            var y = System.Runtime.InteropServices.MemoryMarshal.AsBytes(other.Tensors[t].AsSpan());
            if (!x.SequenceEqual(y)) return false;
        }
        return true;
    }

    /// <summary>Largest absolute difference over all values (shapes must agree).</summary>
    public double MaxAbsDifference(MlpParameters other)
    {
        RequireSameShape(other, nameof(other));
        double m = 0;
        for (int t = 0; t < 4; t++)
        {
            var x = Tensors[t]; var y = other.Tensors[t];
            for (int i = 0; i < x.Length; i++) m = Math.Max(m, Math.Abs((double)x[i] - y[i]));
        }
        return m;
    }

    /// <summary>
    /// EBM initialisation (paper Sec. 5.1, citing Hinton's RBM guide): every weight N(0, 0.01²); biases are set to 0,
    /// as that guide recommends for hidden biases and as the paper states nothing else. Deterministic from
    /// <paramref name="seed"/> via <see cref="SeedPolicy"/> (Purpose.Init, step 0, example 0).
    /// </summary>
    public static MlpParameters InitEbm(int inputs, int hidden, int outputs, ulong seed, double std = 0.01)
    {
        var p = new MlpParameters(inputs, hidden, outputs);
        var rng = SeedPolicy.For(seed, 0, 0, SeedPolicy.Purpose.Init);
        for (int i = 0; i < p.W1.Length; i++) p.W1[i] = (float)(std * rng.NextGaussian());
        for (int i = 0; i < p.W2.Length; i++) p.W2[i] = (float)(std * rng.NextGaussian());
        return p;
    }

    /// <summary>
    /// MLP initialisation as PyTorch's nn.Linear default: weights and biases uniform in ±1/sqrt(fan_in), with
    /// fan_in = N for the first layer and K for the second. Deterministic from <paramref name="seed"/> via
    /// <see cref="SeedPolicy"/> (Purpose.Init, step 0, example 1 so it never shares the EBM stream).
    /// </summary>
    public static MlpParameters InitMlp(int inputs, int hidden, int outputs, ulong seed)
    {
        var p = new MlpParameters(inputs, hidden, outputs);
        var rng = SeedPolicy.For(seed, 0, 1, SeedPolicy.Purpose.Init);
        double b1 = 1.0 / Math.Sqrt(inputs), b2 = 1.0 / Math.Sqrt(hidden);
        for (int i = 0; i < p.W1.Length; i++) p.W1[i] = (float)((2 * rng.NextDouble() - 1) * b1);
        for (int i = 0; i < p.B.Length; i++) p.B[i] = (float)((2 * rng.NextDouble() - 1) * b1);
        for (int i = 0; i < p.W2.Length; i++) p.W2[i] = (float)((2 * rng.NextDouble() - 1) * b2);
        for (int i = 0; i < p.C.Length; i++) p.C[i] = (float)((2 * rng.NextDouble() - 1) * b2);
        return p;
    }
}
