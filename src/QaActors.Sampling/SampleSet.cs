using System.Collections.Immutable;

namespace QaActors.Sampling;

/// <summary>
/// Facts about how a sample set was produced. Timing values are in microseconds, keyed as SAPI names them
/// (for example <c>qpu_access_time</c>); <see cref="Properties"/> holds numeric facts
/// (<c>beta</c>, <c>chain_break_fraction</c>, <c>clipped</c>, <c>beta_estimate</c>, ...) and <see cref="Notes"/>
/// textual ones (<c>embedding</c>, <c>fallback_reason</c>, ...). Immutable so it can travel between actors.
/// </summary>
public sealed record SampleInfo(
    string Sampler,
    ImmutableDictionary<string, double> Timing,
    ImmutableDictionary<string, double> Properties,
    ImmutableDictionary<string, string> Notes)
{
    public static SampleInfo For(string sampler) => new(
        sampler,
        ImmutableDictionary<string, double>.Empty,
        ImmutableDictionary<string, double>.Empty,
        ImmutableDictionary<string, string>.Empty);

    public SampleInfo WithTiming(string key, double microseconds) => this with { Timing = Timing.SetItem(key, microseconds) };
    public SampleInfo WithProperty(string key, double value) => this with { Properties = Properties.SetItem(key, value) };
    public SampleInfo WithNote(string key, string value) => this with { Notes = Notes.SetItem(key, value) };
}

/// <summary>
/// The project's one sample-set type: rows of variable values in <see cref="Variables"/> order, with their
/// energies and how often each row occurred (1 for raw reads, more for aggregated histograms).
/// Values are ±1 for SPIN and 0/1 for BINARY. Immutable.
/// </summary>
public sealed class SampleSet
{
    private readonly sbyte[] _samples;
    private readonly int[] _variables;
    private readonly double[] _energies;
    private readonly int[] _occurrences;

    public Vartype Vartype { get; }
    public SampleInfo Info { get; }
    public int NumVariables => _variables.Length;
    public int NumRows => _energies.Length;
    public ReadOnlySpan<int> Variables => _variables;
    public ReadOnlySpan<double> Energies => _energies;
    public ReadOnlySpan<int> NumOccurrences => _occurrences;
    /// <summary>All rows, row-major (<see cref="NumRows"/> × <see cref="NumVariables"/>).</summary>
    public ReadOnlySpan<sbyte> Samples => _samples;

    /// <summary>Total reads represented, Σ occurrences.</summary>
    public long TotalReads { get; }

    public SampleSet(Vartype vartype, int[] variables, sbyte[] samples, double[] energies, int[] numOccurrences, SampleInfo info)
    {
        if (samples.Length != energies.Length * variables.Length)
            throw new ArgumentException($"samples hold {samples.Length} values; {energies.Length} rows of {variables.Length} variables need {energies.Length * variables.Length}");
        if (numOccurrences.Length != energies.Length)
            throw new ArgumentException("one occurrence count is needed per row");
        sbyte lo = vartype == Vartype.Spin ? (sbyte)-1 : (sbyte)0;
        foreach (sbyte s in samples)
        {
            if (s != lo && s != 1) throw new ArgumentException($"value {s} is not a {vartype.ToWire()} value");
        }
        Vartype = vartype;
        _variables = variables;
        _samples = samples;
        _energies = energies;
        _occurrences = numOccurrences;
        Info = info;
        long t = 0;
        foreach (int c in numOccurrences)
        {
            if (c < 0) throw new ArgumentException("occurrence counts must be non-negative");
            t += c;
        }
        TotalReads = t;
    }

    /// <summary>Energies are computed from <paramref name="bqm"/>; variables follow its index order.</summary>
    public static SampleSet FromSamples(Bqm bqm, sbyte[] samples, SampleInfo info, int[]? numOccurrences = null)
    {
        int n = bqm.NumVariables;
        if (n == 0 ? samples.Length != 0 : samples.Length % n != 0) throw new ArgumentException("sample array is not a whole number of rows");
        int rows = n == 0 ? 0 : samples.Length / n;
        var energies = new double[rows];
        for (int r = 0; r < rows; r++) energies[r] = bqm.Energy(samples.AsSpan(r * n, n));
        numOccurrences ??= Enumerable.Repeat(1, rows).ToArray();
        return new SampleSet(bqm.Vartype, bqm.Labels.ToArray(), samples, energies, numOccurrences, info);
    }

    public ReadOnlySpan<sbyte> Row(int r) => _samples.AsSpan(r * _variables.Length, _variables.Length);

    public int ColumnOf(int label)
    {
        int i = Array.IndexOf(_variables, label);
        return i >= 0 ? i : throw new KeyNotFoundException($"variable {label} is not in the sample set");
    }

    public SampleSet WithInfo(SampleInfo info) => new(Vartype, _variables, _samples, _energies, _occurrences, info);

    /// <summary>The same samples over the other vartype (values mapped, energies unchanged: the model is the same).</summary>
    public SampleSet ChangeVartype(Vartype target)
    {
        if (target == Vartype) return this;
        var s = new sbyte[_samples.Length];
        for (int i = 0; i < s.Length; i++)
            s[i] = target == Vartype.Spin ? (sbyte)(2 * _samples[i] - 1) : (sbyte)((_samples[i] + 1) / 2);
        return new SampleSet(target, _variables, s, _energies, _occurrences, Info);
    }

    /// <summary>Identical rows merged with their counts added (order of first appearance kept).</summary>
    public SampleSet Aggregate()
    {
        int n = _variables.Length;
        var index = new Dictionary<string, int>();
        var rows = new List<int>();
        var counts = new List<int>();
        for (int r = 0; r < NumRows; r++)
        {
            string key = Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Row(r)));
            if (index.TryGetValue(key, out int at)) counts[at] += _occurrences[r];
            else { index[key] = rows.Count; rows.Add(r); counts.Add(_occurrences[r]); }
        }
        var s = new sbyte[rows.Count * n];
        var e = new double[rows.Count];
        for (int k = 0; k < rows.Count; k++)
        {
            Row(rows[k]).CopyTo(s.AsSpan(k * n, n));
            e[k] = _energies[rows[k]];
        }
        return new SampleSet(Vartype, _variables, s, e, counts.ToArray(), Info);
    }

    /// <summary>
    /// Only the columns of <paramref name="labels"/> (in that order), with identical rows then merged (counts added,
    /// order of first appearance kept); the info is kept. Energies belong to whole rows, so the reduced rows carry NaN.
    /// Whoever reads only these columns, weighted by occurrence, gets the same sums from the reduced set: the counts
    /// are integers, so merging rows changes no floating-point result.
    /// </summary>
    public SampleSet KeepColumns(ReadOnlySpan<int> labels)
    {
        int m = labels.Length, n = _variables.Length;
        var cols = new int[m];
        for (int o = 0; o < m; o++) cols[o] = ColumnOf(labels[o]);
        var values = new sbyte[NumRows * m];
        for (int r = 0; r < NumRows; r++)
            for (int o = 0; o < m; o++) values[r * m + o] = _samples[r * n + cols[o]];
        var energies = new double[NumRows];
        Array.Fill(energies, double.NaN);
        return new SampleSet(Vartype, labels.ToArray(), values, energies, _occurrences.ToArray(), Info).Aggregate();
    }

    /// <summary>Occurrence-weighted mean of each variable (in this set's vartype).</summary>
    public double[] Means()
    {
        int n = _variables.Length;
        var m = new double[n];
        for (int r = 0; r < NumRows; r++)
        {
            var row = Row(r);
            int c = _occurrences[r];
            for (int i = 0; i < n; i++) m[i] += c * row[i];
        }
        if (TotalReads > 0) for (int i = 0; i < n; i++) m[i] /= TotalReads;
        return m;
    }
}
