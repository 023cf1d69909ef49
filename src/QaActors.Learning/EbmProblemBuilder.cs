using System.Buffers;
using QaActors.Sampling;

namespace QaActors.Learning;

/// <summary>Result of clipping an Ising problem to hardware ranges: the clipped problem and how many biases moved.</summary>
public sealed record ClipResult(Bqm Problem, int ClippedLinear, int ClippedQuadratic)
{
    public int Clipped => ClippedLinear + ClippedQuadratic;
}

/// <summary>
/// Builds the per-example BQM handed to a sampler (docs/math.md, "The per-example problem"): BINARY variables
/// q = (k, y) with x clamped, labelled <b>0..K−1 for the hidden units k_j (label j) and K..K+M−1 for the outputs
/// y_m (label K+m)</b>. Energy E(q) = −[Σ_j a_j k_j + Σ_m c_m y_m + Σ_m Σ_j W2_mj y_m k_j], i.e. linear −a_j and −c_m,
/// quadratic −W2_mj on (k_j, y_m): E = −S(k,y|x), the model at its own temperature (β = 1 samples P(k, y | x)). The
/// QPU's factor 1/T is applied on the QPU side only (docs/math.md, "Temperature"), so every sampler, and a QPU job
/// that falls back to a classical one, gets the same problem. A batch is built with one batched W1·x, and every
/// example's BQM shares the same quadratic arrays (only the linear terms depend on x).
/// </summary>
public static class EbmProblemBuilder
{
    /// <summary>Label of hidden unit j.</summary>
    public static int HiddenLabel(int j) => j;

    /// <summary>Label of output m in a model with <paramref name="hidden"/> hidden units.</summary>
    public static int OutputLabel(int hidden, int m) => hidden + m;

    /// <summary>One BQM per row of X (rows×N).</summary>
    public static Bqm[] Build(MlpParameters p, ReadOnlySpan<float> x, int rows)
    {
        int k = p.Hidden;
        var a = Buffers.Rent(Math.Max(1, rows * k));
        try
        {
            Numerics.HiddenPreActivation(p, x, rows, a);
            return BuildFromPreActivation(p, a.AsSpan(0, rows * k), rows);
        }
        finally { Buffers.Return(a); }
    }

    /// <summary>One BQM per row of the pre-activation A (rows×K).</summary>
    public static Bqm[] BuildFromPreActivation(MlpParameters p, ReadOnlySpan<float> a, int rows)
    {
        int k = p.Hidden, mOut = p.Outputs;
        if (a.Length < rows * k) throw new ArgumentException($"pre-activation holds {a.Length} values; {rows} rows of {k} needed", nameof(a));
        var u = new int[mOut * k];
        var v = new int[mOut * k];
        var q = new double[mOut * k];
        for (int m = 0; m < mOut; m++)
            for (int j = 0; j < k; j++)
            {
                u[m * k + j] = j;
                v[m * k + j] = k + m;
                q[m * k + j] = -(double)p.W2[m * k + j];
            }
        var template = Bqm.FromArrays(Vartype.Binary, new double[k + mOut], u, v, q);
        var result = new Bqm[rows];
        for (int i = 0; i < rows; i++)
        {
            var lin = new double[k + mOut];
            var ai = a.Slice(i * k, k);
            for (int j = 0; j < k; j++) lin[j] = -(double)ai[j];
            for (int m = 0; m < mOut; m++) lin[k + m] = -(double)p.C[m];
            result[i] = template.WithLinear(lin);
        }
        return result;
    }

    /// <summary>
    /// The problem in Ising form with every h clipped into [hMin, hMax] and every J into [jMin, jMax] (QPU ranges, e.g.
    /// h ∈ [−4, 4] or the paper's [−2, 2], J ∈ [−1, 1]); the counts say how many values were moved, never silently.
    /// </summary>
    public static ClipResult ClipIsing(Bqm problem, double hMin, double hMax, double jMin, double jMax)
    {
        if (!(hMin <= hMax) || !(jMin <= jMax)) throw new ArgumentException("each range needs min ≤ max");
        var ising = problem.ToSpin();
        var h = ising.Linear.ToArray();
        var j = ising.QuadraticBias.ToArray();
        int ch = 0, cj = 0;
        for (int i = 0; i < h.Length; i++)
        {
            double c = Math.Clamp(h[i], hMin, hMax);
            if (c != h[i]) { ch++; h[i] = c; }
        }
        for (int e = 0; e < j.Length; e++)
        {
            double c = Math.Clamp(j[e], jMin, jMax);
            if (c != j[e]) { cj++; j[e] = c; }
        }
        if (ch == 0 && cj == 0) return new ClipResult(ising, 0, 0);
        var clipped = Bqm.FromArrays(Vartype.Spin, h, ising.QuadraticU.ToArray(), ising.QuadraticV.ToArray(), j, ising.Offset, ising.Labels.ToArray());
        return new ClipResult(clipped, ch, cj);
    }

    /// <summary>Columns of the output variables y_0..y_{M−1} in a sample set (by label K+m).</summary>
    public static int[] OutputColumns(SampleSet set, int hidden, int outputs)
    {
        var cols = new int[outputs];
        for (int m = 0; m < outputs; m++)
        {
            int label = OutputLabel(hidden, m);
            int c = set.Variables.IndexOf(label);
            if (c < 0) throw new ArgumentException($"the sample set has no output variable {label} (outputs are labelled {hidden}..{hidden + outputs - 1} for {hidden} hidden units); was it built by EbmProblemBuilder for this model?");
            cols[m] = c;
        }
        return cols;
    }

    /// <summary>The output state index (bit m = y'_m) of each row; +1 (SPIN) and 1 (BINARY) both mean y'_m = 1.</summary>
    public static int[] OutputStates(SampleSet set, int hidden, int outputs)
    {
        var cols = OutputColumns(set, hidden, outputs);
        var states = new int[set.NumRows];
        for (int r = 0; r < set.NumRows; r++) states[r] = StateOf(set.Row(r), cols);
        return states;
    }

    /// <summary>Hidden values k_j (0/1) of row <paramref name="row"/>, whatever the set's vartype.</summary>
    public static byte[] HiddenState(SampleSet set, int row, int hidden)
    {
        var r = set.Row(row);
        var k = new byte[hidden];
        for (int j = 0; j < hidden; j++)
        {
            int c = set.Variables.IndexOf(HiddenLabel(j));
            if (c < 0) throw new ArgumentException($"the sample set has no hidden variable {j}");
            k[j] = r[c] == 1 ? (byte)1 : (byte)0;
        }
        return k;
    }

    /// <summary>Occurrence-weighted distribution of y' over the 2^M states, written into <paramref name="weights"/>.</summary>
    public static void OutputWeights(SampleSet set, ReadOnlySpan<int> cols, Span<double> weights)
    {
        if (set.TotalReads <= 0) throw new ArgumentException("the sample set holds no reads; the negative phase needs at least one");
        weights.Clear();
        var occ = set.NumOccurrences;
        for (int r = 0; r < set.NumRows; r++) weights[StateOf(set.Row(r), cols)] += occ[r];
        double inv = 1.0 / set.TotalReads;
        for (int s = 0; s < weights.Length; s++) weights[s] *= inv;
    }

    private static int StateOf(ReadOnlySpan<sbyte> row, ReadOnlySpan<int> cols)
    {
        int s = 0;
        for (int m = 0; m < cols.Length; m++) if (row[cols[m]] == 1) s |= 1 << m;
        return s;
    }
}
