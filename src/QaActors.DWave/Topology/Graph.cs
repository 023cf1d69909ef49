namespace QaActors.DWave.Topology;

/// <summary>Which lattice a hardware graph was cut from, so that embeddings can be moved by its translations.</summary>
public enum LatticeKind
{
    /// <summary>No known lattice (a working graph given only as lists, or a logical problem graph).</summary>
    None,
    Pegasus,
    Zephyr,
}

/// <summary>The lattice family and shape a graph belongs to: Pegasus P(m) or Zephyr Z(m, t).</summary>
public readonly record struct LatticeShape(LatticeKind Kind, int M, int T = 4)
{
    public static readonly LatticeShape None = new(LatticeKind.None, 0, 0);

    public override string ToString() => Kind switch
    {
        LatticeKind.Pegasus => $"pegasus:{M}",
        LatticeKind.Zephyr => $"zephyr:{M},{T}",
        _ => "none",
    };
}

/// <summary>
/// An undirected simple graph over integer node ids (qubit indices on a chip, or logical variable labels).
/// Ids need not be contiguous (a Pegasus fabric starts at 30; a working graph has holes where qubits are dead), so
/// arrays are indexed by id up to <see cref="IdBound"/>: embedders then use plain arrays instead of dictionaries in
/// their hot loops. Neighbour lists are sorted, which makes <see cref="HasEdge"/> a binary search. Immutable.
/// </summary>
public sealed class Graph
{
    private readonly int[] _nodes;          // sorted ids
    private readonly bool[] _present;       // by id
    private readonly int[] _adjStart;       // CSR by id: neighbours of id are _adj[_adjStart[id] .. _adjStart[id+1]]
    private readonly int[] _adj;

    public LatticeShape Shape { get; }
    public int NumNodes => _nodes.Length;
    public int NumEdges => _adj.Length / 2;
    /// <summary>One more than the largest id: the length of an array indexed by node id.</summary>
    public int IdBound => _present.Length;
    public ReadOnlySpan<int> Nodes => _nodes;

    private Graph(int[] nodes, bool[] present, int[] adjStart, int[] adj, LatticeShape shape)
    {
        _nodes = nodes;
        _present = present;
        _adjStart = adjStart;
        _adj = adj;
        Shape = shape;
    }

    /// <summary>
    /// Builds a graph from node ids and edges. Every edge endpoint must be a listed node; self-loops are refused;
    /// a repeated edge (in either orientation) is kept once.
    /// </summary>
    public static Graph FromEdges(IEnumerable<int> nodes, IEnumerable<(int U, int V)> edges, LatticeShape shape = default)
    {
        var nodeList = nodes.ToArray();
        int bound = 0;
        foreach (int n in nodeList)
        {
            if (n < 0) throw new ArgumentException($"node id {n} is negative; ids must be non-negative integers", nameof(nodes));
            bound = Math.Max(bound, n + 1);
        }
        var present = new bool[bound];
        foreach (int n in nodeList) present[n] = true;
        var sorted = new List<int>(nodeList.Length);
        for (int i = 0; i < bound; i++) if (present[i]) sorted.Add(i);

        var pairs = new List<long>();
        foreach (var (u, v) in edges)
        {
            if (u == v) throw new ArgumentException($"edge ({u},{v}) is a self-loop; a hardware or problem graph has none", nameof(edges));
            if ((uint)u >= (uint)bound || !present[u] || (uint)v >= (uint)bound || !present[v])
                throw new ArgumentException($"edge ({u},{v}) names a node that is not in the node list", nameof(edges));
            int a = Math.Min(u, v), b = Math.Max(u, v);
            pairs.Add(((long)a << 32) | (uint)b);
        }
        pairs.Sort();
        var adjStart = new int[bound + 1];
        long prev = -1;
        int unique = 0;
        foreach (long p in pairs)
        {
            if (p == prev) continue;
            prev = p;
            unique++;
            adjStart[(int)(p >> 32) + 1]++;
            adjStart[(int)(p & 0xffffffff) + 1]++;
        }
        for (int i = 0; i < bound; i++) adjStart[i + 1] += adjStart[i];
        var adj = new int[2 * unique];
        var fill = new int[bound];
        prev = -1;
        foreach (long p in pairs)
        {
            if (p == prev) continue;
            prev = p;
            int a = (int)(p >> 32), b = (int)(p & 0xffffffff);
            adj[adjStart[a] + fill[a]++] = b;
            adj[adjStart[b] + fill[b]++] = a;
        }
        for (int i = 0; i < bound; i++) Array.Sort(adj, adjStart[i], adjStart[i + 1] - adjStart[i]);
        return new Graph(sorted.ToArray(), present, adjStart, adj, shape);
    }

    public bool Contains(int id) => (uint)id < (uint)_present.Length && _present[id];

    public ReadOnlySpan<int> Neighbours(int id) =>
        Contains(id) ? _adj.AsSpan(_adjStart[id], _adjStart[id + 1] - _adjStart[id]) : ReadOnlySpan<int>.Empty;

    public int Degree(int id) => Contains(id) ? _adjStart[id + 1] - _adjStart[id] : 0;

    public int MaxDegree()
    {
        int d = 0;
        foreach (int n in _nodes) d = Math.Max(d, Degree(n));
        return d;
    }

    public bool HasEdge(int u, int v) => Contains(u) && Contains(v) && Neighbours(u).BinarySearch(v) >= 0;

    /// <summary>Every edge once, as (smaller id, larger id), in increasing order.</summary>
    public IEnumerable<(int U, int V)> Edges()
    {
        foreach (int u in _nodes)
        {
            int s = _adjStart[u], e = _adjStart[u + 1];
            for (int p = s; p < e; p++)
            {
                int v = _adj[p];
                if (v > u) yield return (u, v);
            }
        }
    }

    /// <summary>The graph induced on the nodes that <paramref name="keep"/> accepts (same lattice shape).</summary>
    public Graph Subgraph(Func<int, bool> keep)
    {
        var nodes = _nodes.Where(keep).ToArray();
        var kept = new bool[IdBound];
        foreach (int n in nodes) kept[n] = true;
        return FromEdges(nodes, Edges().Where(e => kept[e.U] && kept[e.V]), Shape);
    }

    /// <summary>The working graph: this graph without the given (dead or reserved) nodes and their edges.</summary>
    public Graph WithoutNodes(IEnumerable<int> removed)
    {
        var drop = new HashSet<int>(removed);
        return Subgraph(n => !drop.Contains(n));
    }

    /// <summary>This graph without the given edges (dead couplers); nodes stay.</summary>
    public Graph WithoutEdges(IEnumerable<(int U, int V)> removed)
    {
        var drop = new HashSet<long>(removed.Select(e => Key(e.U, e.V)));
        return FromEdges(_nodes, Edges().Where(e => !drop.Contains(Key(e.U, e.V))), Shape);
    }

    /// <summary>Number of connected components (isolated nodes count as components).</summary>
    public int ConnectedComponents()
    {
        var seen = new bool[IdBound];
        var stack = new Stack<int>();
        int count = 0;
        foreach (int s in _nodes)
        {
            if (seen[s]) continue;
            count++;
            seen[s] = true;
            stack.Push(s);
            while (stack.Count > 0)
            {
                int x = stack.Pop();
                foreach (int y in Neighbours(x))
                {
                    if (!seen[y]) { seen[y] = true; stack.Push(y); }
                }
            }
        }
        return count;
    }

    private static long Key(int u, int v) => ((long)Math.Min(u, v) << 32) | (uint)Math.Max(u, v);

    public override string ToString() => $"Graph({Shape}, {NumNodes} nodes, {NumEdges} edges)";
}
