using QaActors.DWave.Topology;

namespace QaActors.DWave.Embedding;

public sealed record TilingOptions
{
    public ulong Seed { get; init; } = 1;
    /// <summary>Time limit of each general-heuristic embedding (the K×M path needs none).</summary>
    public TimeSpan EmbedTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// Copies whose longest chain exceeds this are not placed (long chains break more often, so a copy squeezed
    /// into the leftovers can sample worse than the others); null places every copy that fits.
    /// </summary>
    public int? MaxChainLength { get; init; }
}

/// <summary>
/// Places disjoint copies of one small problem on a chip, so that several examples are sampled in one QPU call (each
/// copy with its own linear terms). Two packings are built and the one with more copies is kept:
/// (a) lattice translations: one embedding moved by the Pegasus/Zephyr tile translations (row by row), then the
/// remaining free qubits filled greedily; (b) greedy: embed again and again in the free part of the graph, each time
/// starting from the free qubit nearest a corner, so copies pack against each other. Every copy is verified against
/// the target and the copies are checked to be pairwise disjoint before they are returned.
/// </summary>
public static class Tiling
{
    public static IReadOnlyList<MinorEmbedding> Create(IEnumerable<(int U, int V)> problemEdges, Graph target, int maxCopies, TilingOptions? options = null, IEnumerable<int>? problemNodes = null)
    {
        if (maxCopies < 1) throw new ArgumentOutOfRangeException(nameof(maxCopies), maxCopies, "at least one copy is needed");
        options ??= new TilingOptions();
        var edges = problemEdges.ToArray();
        var nodes = new SortedSet<int>(problemNodes ?? []);
        foreach (var (u, v) in edges) { nodes.Add(u); nodes.Add(v); }
        var embedder = new Embedder(edges, nodes.ToArray(), options);
        var cornerDist = GraphSearch.Bfs(target, [target.Nodes[0]]);

        var result = target.Shape.Kind != LatticeKind.None ? Translated(embedder, target, maxCopies, cornerDist) : [];
        if (result.Count < maxCopies && embedder.IsBipartite)
        {
            var swept = Sweep(embedder, target, maxCopies, cornerDist);
            if (swept.Count > result.Count) result = swept;
        }
        if (result.Count < maxCopies)
        {
            var greedy = Fill(embedder, target, [], maxCopies, cornerDist);
            if (greedy.Count > result.Count) result = greedy;
        }
        if (result.Count == 0) throw new EmbeddingException($"not even one copy of the problem ({nodes.Count} variables, {edges.Length} edges) fits on {target}");

        var owner = new Dictionary<int, int>();
        for (int c = 0; c < result.Count; c++)
        {
            EmbeddingVerifier.Verify(edges, target, result[c], nodes);
            foreach (int q in result[c].Qubits)
            {
                if (!owner.TryAdd(q, c)) throw new InvalidOperationException($"internal error: tiles {owner[q]} and {c} share qubit {q}");
            }
        }
        return result;
    }

    private static List<MinorEmbedding> Translated(Embedder embedder, Graph target, int maxCopies, int[] cornerDist)
    {
        var first = embedder.Embed(target, NearCorner(target, cornerDist));
        if (first is null) return [];
        var shape = target.Shape;
        int span = shape.M;
        var moves = new List<(int Dx, int Dy)>();
        for (int dy = -span; dy <= span; dy++)
        for (int dx = -span; dx <= span; dx++)
            moves.Add((dx, dy));
        var used = new bool[target.IdBound];
        var copies = new List<MinorEmbedding>();
        foreach (var (dx, dy) in moves)
        {
            if (copies.Count >= maxCopies) break;
            bool ok = true;
            var map = new Dictionary<int, int>();
            foreach (int q in first.Qubits)
            {
                int t = shape.Kind == LatticeKind.Pegasus
                    ? Pegasus.Translate(shape.M, q, dx, dy)
                    : Zephyr.Translate(shape.M, shape.T, q, dx, dy);
                if (t < 0 || !target.Contains(t) || used[t]) { ok = false; break; }
                map[q] = t;
            }
            if (!ok) continue;
            var moved = first.MapQubits(q => map[q]);
            if (!EmbeddingVerifier.IsValid(embedder.Edges, target, moved, embedder.Nodes)) continue; // a dead coupler in the image
            foreach (int q in moved.Qubits) used[q] = true;
            copies.Add(moved);
        }
        return Fill(embedder, target, copies, maxCopies, cornerDist);
    }

    /// <summary>
    /// Sweep-line packing: each new copy is embedded in the narrowest band of columns, starting at the leftmost free
    /// column, that holds it, so copies stay compact and leave the rest of the chip in one piece. Columns come from the
    /// lattice coordinates (<see cref="Position"/>); without a lattice, from the hop distance to a corner.
    /// </summary>
    private static List<MinorEmbedding> Sweep(Embedder embedder, Graph target, int maxCopies, int[] cornerDist)
    {
        var x = new double[target.IdBound];
        double maxX = 0;
        foreach (int q in target.Nodes)
        {
            x[q] = target.Shape.Kind == LatticeKind.None ? cornerDist[q] : Position(target.Shape, q).X;
            maxX = Math.Max(maxX, x[q]);
        }
        var used = new HashSet<int>();
        var copies = new List<MinorEmbedding>();
        while (copies.Count < maxCopies)
        {
            var free = target.Subgraph(q => !used.Contains(q));
            if (free.NumNodes < embedder.Nodes.Length) break;
            double x0 = double.MaxValue;
            int maxDeg = free.MaxDegree();
            foreach (int q in free.Nodes) if (2 * free.Degree(q) >= maxDeg) x0 = Math.Min(x0, x[q]);
            MinorEmbedding? found = null;
            for (double width = 1; found is null && x0 + width <= maxX + 1; width++)
            {
                double limit = x0 + width;
                var band = free.Subgraph(q => x[q] < limit);
                if (band.NumNodes < embedder.Nodes.Length) continue;
                found = embedder.Embed(band, NearCorner(band, cornerDist), tries: 1);
            }
            if (found is null) break;
            copies.Add(found);
            used.UnionWith(found.Qubits);
        }
        return copies;
    }

    /// <summary>
    /// A qubit's place on the chip in cell units: vertical qubits (u=0) sit in column w (Zephyr: w/2) at row z,
    /// horizontal ones (u=1) in column z at row w (w/2). Coupled qubits are at most about one cell apart.
    /// </summary>
    public static (double X, double Y) Position(LatticeShape shape, int qubit)
    {
        switch (shape.Kind)
        {
            case LatticeKind.Pegasus:
                var p = Pegasus.ToCoordinate(shape.M, qubit);
                return p.U == 0 ? (p.W, p.Z) : (p.Z, p.W);
            case LatticeKind.Zephyr:
                var z = Zephyr.ToCoordinate(shape.M, shape.T, qubit);
                return z.U == 0 ? (z.W / 2.0, z.Z) : (z.Z, z.W / 2.0);
            default:
                throw new ArgumentException("positions need a Pegasus or Zephyr lattice shape", nameof(shape));
        }
    }

    /// <summary>Adds copies embedded in the still-free part of the graph until none fits or maxCopies is reached.</summary>
    private static List<MinorEmbedding> Fill(Embedder embedder, Graph target, List<MinorEmbedding> copies, int maxCopies, int[] cornerDist)
    {
        var used = new HashSet<int>(copies.SelectMany(c => c.Qubits));
        while (copies.Count < maxCopies)
        {
            var free = target.Subgraph(q => !used.Contains(q));
            if (free.NumNodes < embedder.Nodes.Length) break;
            int start = NearCorner(free, cornerDist);
            if (start < 0) break;
            var e = embedder.Embed(free, start);
            if (e is null) break;
            copies.Add(e);
            used.UnionWith(e.Qubits);
        }
        return copies;
    }

    /// <summary>The free qubit nearest the corner among those with at least half the graph's usual degree (not a stranded leftover).</summary>
    private static int NearCorner(Graph g, int[] cornerDist)
    {
        int maxDeg = g.MaxDegree();
        int best = -1;
        foreach (int q in g.Nodes)
        {
            if (2 * g.Degree(q) < maxDeg) continue;
            if (best < 0 || cornerDist[q] < cornerDist[best]) best = q;
        }
        return best;
    }

    private sealed class Embedder
    {
        public readonly (int U, int V)[] Edges;
        public readonly int[] Nodes;
        private readonly int[]? _leaves, _hubs;
        private readonly TilingOptions _options;

        public Embedder((int U, int V)[] edges, int[] nodes, TilingOptions options)
        {
            Edges = edges;
            Nodes = nodes;
            _options = options;
            // Isolated variables make the graph not K×M; they take the general path.
            if (BipartiteEmbedder.TryRecognise(edges, out var l, out var h) && l.Length + h.Length == nodes.Length)
            {
                _leaves = l;
                _hubs = h;
            }
        }

        public bool IsBipartite => _leaves is not null;

        public MinorEmbedding? Embed(Graph g, int start, int tries = 2)
        {
            if (start < 0) return null;
            var e = _leaves is not null && _hubs is not null
                ? BipartiteEmbedder.TryFind(_leaves, _hubs, g, new BipartiteOptions { StartQubit = start, Tries = tries, Seed = _options.Seed }, out _)
                : MinorEmbedder.TryFind(Edges, g, new MinorEmbedderOptions { Seed = _options.Seed, Timeout = _options.EmbedTimeout, Tries = 2 }, out _, Nodes);
            return e is not null && e.MaxChainLength > (_options.MaxChainLength ?? int.MaxValue) ? null : e;
        }
    }
}
