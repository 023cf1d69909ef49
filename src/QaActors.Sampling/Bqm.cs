using System.Collections.Immutable;

namespace QaActors.Sampling;

/// <summary>
/// The project's one binary quadratic model: E(v) = Σ_i h_i v_i + Σ_(i&lt;j) J_ij v_i v_j + offset over SPIN or
/// BINARY variables. Variables carry integer labels (as in the problem files and on the QPU); internally they are
/// indexed 0..n-1 in label order of first appearance. Immutable: build one with <see cref="BqmBuilder"/> or
/// <see cref="FromArrays"/>. Quadratic terms are stored once per pair with index u &lt; v, and a CSR adjacency
/// is kept so that samplers can walk neighbours without allocating.
/// </summary>
public sealed class Bqm
{
    private readonly int[] _labels;
    private readonly double[] _linear;
    private readonly int[] _qu, _qv;
    private readonly double[] _qb;
    private readonly Dictionary<int, int> _indexOf;
    // CSR adjacency: neighbours of i are _adjIndex[_adjStart[i].._adjStart[i+1]] with biases _adjBias.
    private readonly int[] _adjStart, _adjIndex;
    private readonly double[] _adjBias;

    public Vartype Vartype { get; }
    public double Offset { get; }
    public int NumVariables => _labels.Length;
    public int NumInteractions => _qu.Length;
    public ReadOnlySpan<int> Labels => _labels;
    /// <summary>Linear biases by index.</summary>
    public ReadOnlySpan<double> Linear => _linear;
    public ReadOnlySpan<int> QuadraticU => _qu;
    public ReadOnlySpan<int> QuadraticV => _qv;
    public ReadOnlySpan<double> QuadraticBias => _qb;

    private Bqm(Vartype vartype, int[] labels, double[] linear, int[] qu, int[] qv, double[] qb, double offset)
    {
        Vartype = vartype;
        _labels = labels;
        _linear = linear;
        _qu = qu;
        _qv = qv;
        _qb = qb;
        Offset = offset;
        _indexOf = new Dictionary<int, int>(labels.Length);
        for (int i = 0; i < labels.Length; i++)
        {
            if (!_indexOf.TryAdd(labels[i], i))
                throw new ArgumentException($"variable label {labels[i]} appears twice", nameof(labels));
        }
        int n = labels.Length;
        _adjStart = new int[n + 1];
        for (int e = 0; e < qu.Length; e++)
        {
            if ((uint)qu[e] >= (uint)n || (uint)qv[e] >= (uint)n || qu[e] == qv[e])
                throw new ArgumentException($"interaction {e} ({qu[e]},{qv[e]}) is not a pair of distinct variable indices below {n}");
            _adjStart[qu[e] + 1]++;
            _adjStart[qv[e] + 1]++;
        }
        for (int i = 0; i < n; i++) _adjStart[i + 1] += _adjStart[i];
        _adjIndex = new int[2 * qu.Length];
        _adjBias = new double[2 * qu.Length];
        var fill = new int[n];
        for (int e = 0; e < qu.Length; e++)
        {
            int u = qu[e], v = qv[e];
            int pu = _adjStart[u] + fill[u]++, pv = _adjStart[v] + fill[v]++;
            _adjIndex[pu] = v; _adjBias[pu] = qb[e];
            _adjIndex[pv] = u; _adjBias[pv] = qb[e];
        }
    }

    /// <summary>
    /// Builds from index-based arrays without copying. Pairs must be distinct, unordered duplicates are not
    /// merged: use <see cref="BqmBuilder"/> when terms may repeat. Labels default to 0..n-1.
    /// </summary>
    public static Bqm FromArrays(Vartype vartype, double[] linear, int[] u, int[] v, double[] bias, double offset = 0, int[]? labels = null)
    {
        if (u.Length != v.Length || u.Length != bias.Length)
            throw new ArgumentException("quadratic arrays u, v and bias must have the same length");
        labels ??= Enumerable.Range(0, linear.Length).ToArray();
        if (labels.Length != linear.Length) throw new ArgumentException("labels and linear must have the same length");
        var qu = new int[u.Length];
        var qv = new int[u.Length];
        for (int e = 0; e < u.Length; e++)
        {
            qu[e] = Math.Min(u[e], v[e]);
            qv[e] = Math.Max(u[e], v[e]);
        }
        return new Bqm(vartype, labels, linear, qu, qv, bias, offset);
    }

    public bool TryGetIndex(int label, out int index) => _indexOf.TryGetValue(label, out index);

    public int IndexOf(int label) => _indexOf.TryGetValue(label, out int i)
        ? i
        : throw new KeyNotFoundException($"variable {label} is not in the problem");

    public ReadOnlySpan<int> Neighbours(int index) => _adjIndex.AsSpan(_adjStart[index], _adjStart[index + 1] - _adjStart[index]);

    public ReadOnlySpan<double> NeighbourBiases(int index) => _adjBias.AsSpan(_adjStart[index], _adjStart[index + 1] - _adjStart[index]);

    public int Degree(int index) => _adjStart[index + 1] - _adjStart[index];

    /// <summary>Energy of one sample given by index (values ±1 for SPIN, 0/1 for BINARY).</summary>
    public double Energy(ReadOnlySpan<sbyte> sample)
    {
        if (sample.Length != _labels.Length)
            throw new ArgumentException($"sample has {sample.Length} values, the problem {_labels.Length} variables");
        double e = Offset;
        for (int i = 0; i < _linear.Length; i++) e += _linear[i] * sample[i];
        for (int k = 0; k < _qu.Length; k++) e += _qb[k] * sample[_qu[k]] * sample[_qv[k]];
        return e;
    }

    /// <summary>The same model over SPIN variables; exact (energies agree for every state).</summary>
    public Bqm ToSpin()
    {
        if (Vartype == Vartype.Spin) return this;
        // q = (1+s)/2:  h_i = Q_ii/2 + Σ_j Q_ij/4,  J_ij = Q_ij/4,  offset += Σ Q_ii/2 + Σ Q_ij/4 (docs/math.md, "QUBO to Ising").
        var h = new double[_linear.Length];
        double off = Offset;
        for (int i = 0; i < h.Length; i++) { h[i] = _linear[i] / 2; off += _linear[i] / 2; }
        var j = new double[_qb.Length];
        for (int k = 0; k < _qb.Length; k++)
        {
            double q = _qb[k];
            j[k] = q / 4;
            h[_qu[k]] += q / 4;
            h[_qv[k]] += q / 4;
            off += q / 4;
        }
        return new Bqm(Vartype.Spin, _labels, h, _qu, _qv, j, off);
    }

    /// <summary>The same model over BINARY variables; exact.</summary>
    public Bqm ToBinary()
    {
        if (Vartype == Vartype.Binary) return this;
        // s = 2q - 1:  Q_ii = 2 h_i - 2 Σ_j J_ij,  Q_ij = 4 J_ij,  offset += -Σ h_i + Σ J_ij.
        var q = new double[_linear.Length];
        double off = Offset;
        for (int i = 0; i < q.Length; i++) { q[i] = 2 * _linear[i]; off -= _linear[i]; }
        var qq = new double[_qb.Length];
        for (int k = 0; k < _qb.Length; k++)
        {
            double jv = _qb[k];
            qq[k] = 4 * jv;
            q[_qu[k]] -= 2 * jv;
            q[_qv[k]] -= 2 * jv;
            off += jv;
        }
        return new Bqm(Vartype.Binary, _labels, q, _qu, _qv, qq, off);
    }

    public Bqm ChangeVartype(Vartype target) => target == Vartype.Spin ? ToSpin() : ToBinary();

    /// <summary>Every bias and the offset multiplied by <paramref name="factor"/> (used for the 1/T temperature factor).</summary>
    public Bqm Scale(double factor)
    {
        var h = new double[_linear.Length];
        for (int i = 0; i < h.Length; i++) h[i] = _linear[i] * factor;
        var j = new double[_qb.Length];
        for (int k = 0; k < j.Length; k++) j[k] = _qb[k] * factor;
        return new Bqm(Vartype, _labels, h, _qu, _qv, j, Offset * factor);
    }

    /// <summary>A copy with new linear biases (same graph, same quadratic terms): how a batch's examples differ.</summary>
    public Bqm WithLinear(double[] linear, double? offset = null)
    {
        if (linear.Length != _linear.Length) throw new ArgumentException("linear length must equal the number of variables");
        return new Bqm(Vartype, _labels, linear, _qu, _qv, _qb, offset ?? Offset);
    }

    public ImmutableArray<(int U, int V, double Bias)> QuadraticByLabel()
    {
        var b = ImmutableArray.CreateBuilder<(int, int, double)>(_qu.Length);
        for (int k = 0; k < _qu.Length; k++) b.Add((_labels[_qu[k]], _labels[_qv[k]], _qb[k]));
        return b.MoveToImmutable();
    }
}

/// <summary>Accumulates terms by label (repeated terms add up, as dimod does) and produces an immutable <see cref="Bqm"/>.</summary>
public sealed class BqmBuilder
{
    private readonly Vartype _vartype;
    private readonly List<int> _labels = new();
    private readonly Dictionary<int, int> _index = new();
    private readonly List<double> _linear = new();
    private readonly Dictionary<(int, int), double> _quadratic = new();
    private double _offset;

    public BqmBuilder(Vartype vartype) => _vartype = vartype;

    public int AddVariable(int label, double bias = 0)
    {
        if (!_index.TryGetValue(label, out int i))
        {
            i = _labels.Count;
            _index[label] = i;
            _labels.Add(label);
            _linear.Add(0);
        }
        _linear[i] += bias;
        return i;
    }

    public void AddInteraction(int u, int v, double bias)
    {
        if (u == v) throw new ArgumentException($"interaction ({u},{v}) couples a variable with itself; put its bias on the linear term");
        int iu = AddVariable(u), iv = AddVariable(v);
        var key = iu < iv ? (iu, iv) : (iv, iu);
        _quadratic[key] = _quadratic.GetValueOrDefault(key) + bias;
    }

    public void AddOffset(double value) => _offset += value;

    public Bqm Build()
    {
        int m = _quadratic.Count;
        var u = new int[m];
        var v = new int[m];
        var b = new double[m];
        int k = 0;
        foreach (var ((iu, iv), bias) in _quadratic.OrderBy(p => p.Key.Item1).ThenBy(p => p.Key.Item2))
        {
            u[k] = iu; v[k] = iv; b[k] = bias; k++;
        }
        return Bqm.FromArrays(_vartype, _linear.ToArray(), u, v, b, _offset, _labels.ToArray());
    }
}
