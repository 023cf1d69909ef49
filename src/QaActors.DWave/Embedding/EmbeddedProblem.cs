using QaActors.DWave.Topology;
using QaActors.Sampling;

namespace QaActors.DWave.Embedding;

/// <summary>How an embedded problem is built.</summary>
public sealed record EmbedOptions
{
    /// <summary>Chain strength for every copy; null uses <see cref="ChainStrength.UniformTorqueCompensation"/> of each copy's logical problem.</summary>
    public double? ChainStrength { get; init; }
    public double ChainStrengthPrefactor { get; init; } = Embedding.ChainStrength.DefaultPrefactor;
    /// <summary>With no fixed <see cref="ChainStrength"/>: the least strength torque compensation may give (<see cref="Embedding.ChainStrength.ForHardwareTemperature"/>); null for none.</summary>
    public double? MinChainStrength { get; init; }
    /// <summary>The solver's h_range (Advantage: [−4, 4]); null disables clipping of h.</summary>
    public (double Min, double Max)? HRange { get; init; } = (-4, 4);
    /// <summary>The solver's j_range (Advantage: [−1, 1]); null disables clipping of J.</summary>
    public (double Min, double Max)? JRange { get; init; } = (-1, 1);
}

/// <summary>How chains are turned back into logical values (dwave-system <c>dwave/embedding/chain_breaks.py</c>).</summary>
public enum ChainBreakMethod
{
    /// <summary>The chain's majority value; ties follow <see cref="TieBreak"/>.</summary>
    MajorityVote,
    /// <summary>Rows with any broken chain are dropped.</summary>
    Discard,
    /// <summary>
    /// The value of one uniformly drawn qubit of the chain, drawn afresh for every row, so a value is taken with
    /// probability equal to its share of the chain. (Ocean's weighted_random draws one qubit per chain for all rows.)
    /// </summary>
    WeightedRandom,
}

/// <summary>What a majority vote does when a chain is split evenly.</summary>
public enum TieBreak
{
    /// <summary>A fair seeded coin per tie: no bias towards either value (the default here, because samples are statistics).</summary>
    Random,
    /// <summary>Ocean's rule: spin ties go to +1 (majority_vote uses sum ≥ 0), binary ties to 1.</summary>
    PlusOne,
}

public sealed record UnembedOptions
{
    public ChainBreakMethod Method { get; init; } = ChainBreakMethod.MajorityVote;
    public TieBreak Ties { get; init; } = TieBreak.Random;
    /// <summary>Seed of the tie-breaking and weighted-random draws (derive it with SeedPolicy, purpose Sample).</summary>
    public ulong Seed { get; init; } = 1;
}

/// <summary>Logical samples with chain-break statistics.</summary>
/// <param name="Samples">Over the logical variables, in the logical problem's vartype, energies on the logical problem;
/// Info carries <c>chain_break_fraction</c> (occurrence-weighted mean) and <c>discarded</c>.</param>
/// <param name="ChainBreakFraction">Per row of the input qubit sample set: the fraction of this copy's chains that were broken.</param>
/// <param name="MeanChainBreakFraction">Occurrence-weighted mean of <paramref name="ChainBreakFraction"/>.</param>
/// <param name="Discarded">Reads dropped by <see cref="ChainBreakMethod.Discard"/> (0 otherwise).</param>
public sealed record UnembedResult(SampleSet Samples, double[] ChainBreakFraction, double MeanChainBreakFraction, long Discarded);

/// <summary>
/// One or several logical Ising problems placed on the hardware through their embeddings, as one SPIN problem over
/// qubits (what is sent to the QPU), following dwave-system <c>embed_bqm</c> (<c>dwave/embedding/transforms.py</c>;
/// docs/dwave.md, "From a logical problem to qubits and back"): h_v is split equally over v's chain, J_uv equally over every coupler
/// between the two chains, every coupler inside a chain gets −chain_strength and the offset gains chain_strength per
/// chain coupler (an intact chain then adds 0). No auto-scaling: values outside h_range / j_range are clipped and
/// counted (<see cref="ClippedCount"/>), never silently. Several copies (tiles) each keep their own linear terms.
/// </summary>
public sealed class EmbeddedProblem
{
    private readonly Bqm[] _sources;            // as given (vartype of the caller)
    private readonly MinorEmbedding[] _embeddings;
    private readonly double[] _chainStrengths;

    public Bqm Target { get; }
    public int NumCopies => _sources.Length;
    public IReadOnlyList<Bqm> Sources => _sources;
    public IReadOnlyList<MinorEmbedding> Embeddings => _embeddings;
    public IReadOnlyList<double> ChainStrengths => _chainStrengths;
    public int ClippedLinear { get; }
    public int ClippedQuadratic { get; }
    public int ClippedCount => ClippedLinear + ClippedQuadratic;

    private EmbeddedProblem(Bqm target, Bqm[] sources, MinorEmbedding[] embeddings, double[] strengths, int clippedH, int clippedJ)
    {
        Target = target;
        _sources = sources;
        _embeddings = embeddings;
        _chainStrengths = strengths;
        ClippedLinear = clippedH;
        ClippedQuadratic = clippedJ;
    }

    public static EmbeddedProblem Create(Bqm logical, MinorEmbedding embedding, Graph target, EmbedOptions? options = null) =>
        CreateTiled([logical], [embedding], target, options);

    /// <summary>Copies must use pairwise disjoint qubits (as <see cref="Tiling.Create"/> returns them).</summary>
    public static EmbeddedProblem CreateTiled(IReadOnlyList<Bqm> logical, IReadOnlyList<MinorEmbedding> embeddings, Graph target, EmbedOptions? options = null)
    {
        options ??= new EmbedOptions();
        if (logical.Count == 0) throw new ArgumentException("at least one logical problem is needed", nameof(logical));
        if (logical.Count != embeddings.Count)
            throw new ArgumentException($"{logical.Count} problems but {embeddings.Count} embeddings; give one embedding per copy");
        if (options.ChainStrength is double cs && !(cs > 0 && double.IsFinite(cs)))
            throw new ArgumentOutOfRangeException(nameof(options), cs, "chain strength must be a positive finite number (the chain coupling is −chain_strength)");

        var h = new Dictionary<int, double>();
        var j = new Dictionary<(int, int), double>();
        double offset = 0;
        var owner = new Dictionary<int, int>();
        var strengths = new double[logical.Count];
        for (int c = 0; c < logical.Count; c++)
        {
            var spin = logical[c].ToSpin();
            var emb = embeddings[c];
            var edges = spin.QuadraticByLabel().Select(t => (t.U, t.V));
            EmbeddingVerifier.Verify(edges, target, emb, spin.Labels.ToArray());
            foreach (int v in spin.Labels)
            foreach (int q in emb.Chain(v))
            {
                if (owner.TryGetValue(q, out int other) && other != c)
                    throw new EmbeddingException($"copies {other} and {c} share qubit {q}; tiled copies must be disjoint");
                owner[q] = c;
            }
            double strength = options.ChainStrength ?? Math.Max(ChainStrength.UniformTorqueCompensation(spin, options.ChainStrengthPrefactor), options.MinChainStrength ?? 0);
            strengths[c] = strength;
            offset += spin.Offset;

            var lin = spin.Linear;
            var labels = spin.Labels;
            for (int i = 0; i < labels.Length; i++)
            {
                var chain = emb.Chain(labels[i]);
                double share = lin[i] / chain.Length;
                foreach (int q in chain) h[q] = h.GetValueOrDefault(q) + share;
                // Chain couplers: every target edge inside the chain.
                foreach (int q in chain)
                foreach (int r in target.Neighbours(q))
                {
                    if (r <= q || chain.AsSpan().BinarySearch(r) < 0) continue;
                    j[(q, r)] = j.GetValueOrDefault((q, r)) - strength;
                    offset += strength;
                }
            }
            var qu = spin.QuadraticU;
            var qv = spin.QuadraticV;
            var qb = spin.QuadraticBias;
            var couplers = new List<(int, int)>();
            for (int e = 0; e < qb.Length; e++)
            {
                var cu = emb.Chain(labels[qu[e]]);
                var cv = emb.Chain(labels[qv[e]]);
                couplers.Clear();
                foreach (int p in cu)
                foreach (int r in target.Neighbours(p))
                    if (cv.AsSpan().BinarySearch(r) >= 0) couplers.Add((Math.Min(p, r), Math.Max(p, r)));
                double share = qb[e] / couplers.Count;
                foreach (var key in couplers) j[key] = j.GetValueOrDefault(key) + share;
            }
        }

        int clippedH = 0, clippedJ = 0;
        var qubits = owner.Keys.Order().ToArray();
        var index = new Dictionary<int, int>(qubits.Length);
        for (int i = 0; i < qubits.Length; i++) index[qubits[i]] = i;
        var linear = new double[qubits.Length];
        for (int i = 0; i < qubits.Length; i++)
        {
            double v = h.GetValueOrDefault(qubits[i]);
            if (options.HRange is var (hmin, hmax) && (v < hmin || v > hmax)) { v = Math.Clamp(v, hmin, hmax); clippedH++; }
            linear[i] = v;
        }
        var keys = j.Keys.OrderBy(k => k.Item1).ThenBy(k => k.Item2).ToArray();
        var u = new int[keys.Length];
        var w = new int[keys.Length];
        var b = new double[keys.Length];
        for (int e = 0; e < keys.Length; e++)
        {
            double v = j[keys[e]];
            if (options.JRange is var (jmin, jmax) && (v < jmin || v > jmax)) { v = Math.Clamp(v, jmin, jmax); clippedJ++; }
            u[e] = index[keys[e].Item1];
            w[e] = index[keys[e].Item2];
            b[e] = v;
        }
        var targetBqm = Bqm.FromArrays(Vartype.Spin, linear, u, w, b, offset, qubits);
        return new EmbeddedProblem(targetBqm, logical.ToArray(), embeddings.ToArray(), strengths, clippedH, clippedJ);
    }

    /// <summary>Unembeds every copy from one qubit sample set (one call's answer).</summary>
    public IReadOnlyList<UnembedResult> UnembedAll(SampleSet qubitSamples, UnembedOptions? options = null)
    {
        options ??= new UnembedOptions();
        var results = new UnembedResult[NumCopies];
        for (int c = 0; c < NumCopies; c++)
            results[c] = Unembed(qubitSamples, c, options with { Seed = options.Seed + (ulong)c * 0x9E3779B97F4A7C15UL });
        return results;
    }

    /// <summary>
    /// Maps qubit samples (SPIN or BINARY, over at least this copy's qubits) to samples of logical copy
    /// <paramref name="copy"/>. Energies are recomputed on the logical problem, as Ocean does.
    /// </summary>
    public UnembedResult Unembed(SampleSet qubitSamples, int copy = 0, UnembedOptions? options = null)
    {
        options ??= new UnembedOptions();
        if ((uint)copy >= (uint)NumCopies) throw new ArgumentOutOfRangeException(nameof(copy), copy, $"there are {NumCopies} copies");
        var source = _sources[copy];
        var emb = _embeddings[copy];
        var spinSet = qubitSamples.ChangeVartype(Vartype.Spin);
        var column = new Dictionary<int, int>(spinSet.NumVariables);
        var vars = spinSet.Variables;
        for (int i = 0; i < vars.Length; i++) column[vars[i]] = i;
        var labels = source.Labels.ToArray();
        int n = labels.Length;
        var chains = new int[n][];
        for (int i = 0; i < n; i++)
        {
            chains[i] = emb.Chain(labels[i]).Select(q => column.TryGetValue(q, out int col)
                ? col
                : throw new ArgumentException($"the qubit samples have no value for qubit {q} (chain of variable {labels[i]})", nameof(qubitSamples))).ToArray();
        }
        var rng = new Rng(options.Seed);
        int rows = spinSet.NumRows;
        var breakFraction = new double[rows];
        var keptRows = new List<int>(rows);
        var values = new List<sbyte>(rows * n);
        var row = new sbyte[n];
        double weightedBreaks = 0;
        long discarded = 0;
        for (int r = 0; r < rows; r++)
        {
            var s = spinSet.Row(r);
            int broken = 0;
            for (int i = 0; i < n; i++)
            {
                var chain = chains[i];
                int sum = 0;
                foreach (int col in chain) sum += s[col];
                bool isBroken = Math.Abs(sum) != chain.Length;
                if (isBroken) broken++;
                sbyte v = options.Method switch
                {
                    ChainBreakMethod.WeightedRandom => s[chain[chain.Length == 1 ? 0 : rng.NextInt(chain.Length)]],
                    _ => sum > 0 ? (sbyte)1 : sum < 0 ? (sbyte)-1 : options.Ties == TieBreak.PlusOne ? (sbyte)1 : (rng.NextUInt64() >> 63) == 0 ? (sbyte)-1 : (sbyte)1,
                };
                row[i] = v;
            }
            breakFraction[r] = n == 0 ? 0 : (double)broken / n;
            weightedBreaks += breakFraction[r] * spinSet.NumOccurrences[r];
            if (options.Method == ChainBreakMethod.Discard && broken > 0)
            {
                discarded += spinSet.NumOccurrences[r];
                continue;
            }
            keptRows.Add(r);
            values.AddRange(row);
        }
        double mean = spinSet.TotalReads == 0 ? 0 : weightedBreaks / spinSet.TotalReads;
        var samples = values.ToArray();
        if (source.Vartype == Vartype.Binary)
            for (int i = 0; i < samples.Length; i++) samples[i] = (sbyte)((samples[i] + 1) / 2);
        var info = qubitSamples.Info
            .WithProperty("chain_break_fraction", mean)
            .WithProperty("chain_strength", _chainStrengths[copy])
            .WithProperty("clipped", ClippedCount)
            .WithProperty("discarded", discarded)
            .WithNote("embedding", emb.Summary());
        var occurrences = keptRows.Select(r => spinSet.NumOccurrences[r]).ToArray();
        var set = SampleSet.FromSamples(source, samples, info, occurrences);
        return new UnembedResult(set, breakFraction, mean, discarded);
    }

    /// <summary>
    /// Spreads logical states onto the qubits: every qubit of a chain takes its variable's value (SPIN), for all copies.
    /// Used for initial states and for tests; the result is in <see cref="Target"/>'s variable order.
    /// </summary>
    public sbyte[] EmbedState(IReadOnlyList<sbyte[]> logicalSpinStates)
    {
        if (logicalSpinStates.Count != NumCopies) throw new ArgumentException($"one state per copy is needed ({NumCopies})");
        var targetLabels = Target.Labels;
        var state = new sbyte[targetLabels.Length];
        for (int c = 0; c < NumCopies; c++)
        {
            var labels = _sources[c].Labels;
            if (logicalSpinStates[c].Length != labels.Length) throw new ArgumentException($"state of copy {c} has {logicalSpinStates[c].Length} values for {labels.Length} variables");
            for (int i = 0; i < labels.Length; i++)
            {
                sbyte v = logicalSpinStates[c][i];
                if (v is not (1 or -1)) throw new ArgumentException($"value {v} of copy {c} is not a spin");
                foreach (int q in _embeddings[c].Chain(labels[i])) state[Target.IndexOf(q)] = v;
            }
        }
        return state;
    }
}
