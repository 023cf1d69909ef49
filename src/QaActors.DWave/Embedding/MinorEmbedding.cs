using System.Collections.Immutable;
using QaActors.DWave.Topology;

namespace QaActors.DWave.Embedding;

/// <summary>
/// A minor embedding: each logical variable is represented by a chain (a connected set) of target qubits.
/// Named MinorEmbedding rather than Embedding because a type called like its namespace
/// (QaActors.DWave.Embedding.Embedding) cannot be referred to by its short name from QaActors.DWave.*.
/// Immutable; chains are stored sorted.
/// </summary>
public sealed class MinorEmbedding
{
    private readonly ImmutableSortedDictionary<int, ImmutableArray<int>> _chains;

    public MinorEmbedding(IEnumerable<KeyValuePair<int, IEnumerable<int>>> chains)
    {
        var b = ImmutableSortedDictionary.CreateBuilder<int, ImmutableArray<int>>();
        foreach (var (v, chain) in chains)
        {
            if (b.ContainsKey(v)) throw new ArgumentException($"variable {v} has two chains", nameof(chains));
            b[v] = chain.Distinct().Order().ToImmutableArray();
        }
        _chains = b.ToImmutable();
    }

    public MinorEmbedding(IReadOnlyDictionary<int, int[]> chains)
        : this(chains.Select(p => new KeyValuePair<int, IEnumerable<int>>(p.Key, p.Value)))
    {
    }

    public int NumVariables => _chains.Count;
    public IEnumerable<int> Variables => _chains.Keys;
    public IEnumerable<KeyValuePair<int, ImmutableArray<int>>> Chains => _chains;
    public bool Contains(int variable) => _chains.ContainsKey(variable);

    public ImmutableArray<int> Chain(int variable) => _chains.TryGetValue(variable, out var c)
        ? c
        : throw new KeyNotFoundException($"variable {variable} has no chain in the embedding");

    public int MaxChainLength => _chains.Count == 0 ? 0 : _chains.Values.Max(c => c.Length);
    public int TotalQubits => _chains.Values.Sum(c => c.Length);
    public double MeanChainLength => _chains.Count == 0 ? 0 : (double)TotalQubits / _chains.Count;
    public IEnumerable<int> Qubits => _chains.Values.SelectMany(c => c);

    /// <summary>The same chains with every qubit mapped (used to move an embedding by a lattice translation).</summary>
    public MinorEmbedding MapQubits(Func<int, int> map) =>
        new(_chains.Select(p => new KeyValuePair<int, IEnumerable<int>>(p.Key, p.Value.Select(map))));

    /// <summary>One line summary: variables, qubits, chain length max/mean (for the info "embedding" note).</summary>
    public string Summary() => $"{NumVariables} variables on {TotalQubits} qubits, max chain {MaxChainLength}, mean chain {MeanChainLength:F2}";
}

/// <summary>An embedding could not be found, or a given embedding is not valid for the problem and target.</summary>
public sealed class EmbeddingException(string message) : Exception(message);
