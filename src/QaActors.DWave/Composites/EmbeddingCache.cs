using System.Collections.Concurrent;
using System.Text;
using QaActors.DWave.Embedding;
using QaActors.DWave.Topology;
using QaActors.Sampling;

namespace QaActors.DWave.Composites;

/// <summary>
/// Minor embeddings and tilings of one target graph, found once per problem structure (its variables and couplings,
/// not its values) and shared by every problem of that structure: the examples of an experiment differ only in their
/// linear terms, so one search serves them all. Searches run on the thread pool, never on the caller's thread (a
/// gateway actor asks for a layout and pipes the task back to itself). Every result is verified against the target
/// before it is cached; a search that fails is cached as failed too, since it is deterministic.
/// </summary>
public sealed class EmbeddingCache(Graph target, string solverName, MinorEmbedderOptions? embedder = null, TilingOptions? tiling = null)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<MinorEmbedding>>> _single = new();
    private readonly ConcurrentDictionary<(string, int), Lazy<Task<IReadOnlyList<MinorEmbedding>>>> _tiles = new();

    public Graph Target { get; } = target;

    /// <summary>One embedding of the problem's structure: constructive for K×M bipartite graphs, heuristic otherwise.</summary>
    public Task<MinorEmbedding> EmbeddingAsync(Bqm problem)
    {
        var (nodes, edges) = Structure(problem);
        return _single.GetOrAdd(StructureKey(nodes, edges), _ => new Lazy<Task<MinorEmbedding>>(() => Task.Run(() => Wrap(() =>
        {
            var e = EmbeddingFinder.Find(edges, Target, embedder, nodes);
            EmbeddingVerifier.Verify(edges, Target, e, nodes);
            return e;
        })))).Value;
    }

    /// <summary>Up to <paramref name="maxCopies"/> disjoint copies of the problem's structure (verified and disjoint, see <see cref="Tiling"/>).</summary>
    public Task<IReadOnlyList<MinorEmbedding>> TilesAsync(Bqm problem, int maxCopies)
    {
        if (maxCopies < 1) throw new ArgumentOutOfRangeException(nameof(maxCopies), maxCopies, "at least one copy is needed");
        if (maxCopies == 1) return One(problem);
        var (nodes, edges) = Structure(problem);
        return _tiles.GetOrAdd((StructureKey(nodes, edges), maxCopies), _ => new Lazy<Task<IReadOnlyList<MinorEmbedding>>>(() => Task.Run(() => Wrap(() =>
        {
            var t = Tiling.Create(edges, Target, maxCopies, tiling, nodes);
            return t.Count > 0 ? t : throw new EmbeddingException($"no copy of the {nodes.Length}-variable problem fits");
        })))).Value;
    }

    private async Task<IReadOnlyList<MinorEmbedding>> One(Bqm problem) => [await EmbeddingAsync(problem).ConfigureAwait(false)];

    private T Wrap<T>(Func<T> find)
    {
        try { return find(); }
        catch (EmbeddingException e) { throw new EmbeddingException($"solver {solverName}: {e.Message}"); }
    }

    internal static (int[] Nodes, (int U, int V)[] Edges) Structure(Bqm problem) =>
        (problem.Labels.ToArray(), problem.QuadraticByLabel().Select(t => (t.U, t.V)).ToArray());

    /// <summary>A text key of a problem's structure: sorted variables and sorted couplings.</summary>
    public static string StructureKey(Bqm problem)
    {
        var (n, e) = Structure(problem);
        return StructureKey(n, e);
    }

    private static string StructureKey(int[] nodes, (int U, int V)[] edges)
    {
        var sb = new StringBuilder(nodes.Length * 4 + edges.Length * 8);
        foreach (int n in nodes.Order()) sb.Append(n).Append(',');
        sb.Append('|');
        foreach (var (u, v) in edges.Select(e => (Math.Min(e.U, e.V), Math.Max(e.U, e.V))).Order()) sb.Append(u).Append('-').Append(v).Append(',');
        return sb.ToString();
    }
}
