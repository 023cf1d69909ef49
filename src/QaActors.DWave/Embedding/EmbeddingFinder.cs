using System.Text.Json;
using QaActors.DWave.Topology;
using QaActors.Sampling;

namespace QaActors.DWave.Embedding;

/// <summary>
/// The entry point for "embed this problem on this chip": complete bipartite K×M graphs (the EBM's shape) take the
/// constructive <see cref="BipartiteEmbedder"/>, every other graph the general <see cref="MinorEmbedder"/>. Either way
/// the result has been verified.
/// </summary>
public static class EmbeddingFinder
{
    public static MinorEmbedding Find(IEnumerable<(int U, int V)> sourceEdges, Graph target, MinorEmbedderOptions? options = null, IEnumerable<int>? sourceNodes = null)
    {
        var edges = sourceEdges.ToArray();
        var nodes = new SortedSet<int>(sourceNodes ?? []);
        foreach (var (u, v) in edges) { nodes.Add(u); nodes.Add(v); }
        if (BipartiteEmbedder.TryRecognise(edges, out var leaves, out var hubs) && leaves.Length + hubs.Length == nodes.Count && hubs.Length <= 63)
        {
            var e = BipartiteEmbedder.TryFind(leaves, hubs, target, new BipartiteOptions { Seed = options?.Seed ?? 1 }, out _);
            if (e is not null) return e;
        }
        return MinorEmbedder.Find(edges, target, options, nodes);
    }

    /// <summary>Embeds the interaction graph of a problem (isolated variables included).</summary>
    public static MinorEmbedding Find(Bqm problem, Graph target, MinorEmbedderOptions? options = null) =>
        Find(problem.QuadraticByLabel().Select(t => (t.U, t.V)), target, options, problem.Labels.ToArray());
}

/// <summary>
/// Embeddings as JSON in Ocean's shape, an object from variable (as a string key) to its chain of qubits:
/// <c>{"0": [30, 31], "1": [45]}</c>, so one embedding can be stored with an experiment and reused.
/// </summary>
public static class EmbeddingJson
{
    public static string Write(MinorEmbedding embedding)
    {
        var map = embedding.Chains.ToDictionary(p => p.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), p => p.Value.ToArray());
        return JsonSerializer.Serialize(map);
    }

    public static MinorEmbedding Read(string json)
    {
        Dictionary<string, int[]>? map;
        try
        {
            map = JsonSerializer.Deserialize<Dictionary<string, int[]>>(json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"embedding JSON is not an object of variable → array of qubit integers: {ex.Message}", ex);
        }
        if (map is null) throw new FormatException("embedding JSON is null; expected an object such as {\"0\": [30, 31]}");
        var chains = new Dictionary<int, int[]>();
        foreach (var (k, v) in map)
        {
            if (!int.TryParse(k, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int label))
                throw new FormatException($"embedding JSON key '{k}' is not an integer variable label");
            chains[label] = v ?? throw new FormatException($"chain of variable {k} is null");
        }
        return new MinorEmbedding(chains);
    }
}
