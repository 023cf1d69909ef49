namespace QaActors.DWave.Topology;

/// <summary>A Zephyr qubit in dwave-networkx coordinates (u, w, k, j, z).</summary>
public readonly record struct ZephyrCoordinate(int U, int W, int K, int J, int Z);

/// <summary>
/// Zephyr Z(m, t) graphs with dwave-networkx's coordinates and linear indices. Rules from dwave-networkx
/// <c>dwave/graphs/generators/zephyr.py</c> (<c>zephyr_graph</c>) as summarised in docs/dwave.md ("Topologies"):
/// nodes (u,w,k,j,z) with u∈{0,1}, w∈[0,2m+1), k∈[0,t), j∈{0,1}, z∈[0,m), linear index (((u(2m+1)+w)t+k)·2+j)m+z;
/// external couplers (u,w,k,j,z)–(u,w,k,j,z+1); odd couplers (u,w,k,0,z)–(u,w,k,1,z−a), a∈{0,1};
/// internal couplers (0, 2w+1+a(2i−1), k, j, z)–(1, 2z+1+b(2j−1), h, i, w) for w,z&lt;m, k,h&lt;t, i,j,a,b∈{0,1}.
/// Z(6,4): 1,248 nodes / 11,400 edges; Z(15,4): 7,440 / 71,736.
/// </summary>
public static class Zephyr
{
    public static int NumNodes(int m, int t) => 4 * t * m * (2 * m + 1);

    public static int ToLinear(int m, int t, ZephyrCoordinate c)
    {
        CheckShape(m, t);
        if (!InRange(m, t, c))
            throw new ArgumentOutOfRangeException(nameof(c), c, $"not a Z({m},{t}) coordinate: need u∈{{0,1}}, w∈[0,{2 * m + 1}), k∈[0,{t}), j∈{{0,1}}, z∈[0,{m})");
        return (((c.U * (2 * m + 1) + c.W) * t + c.K) * 2 + c.J) * m + c.Z;
    }

    public static ZephyrCoordinate ToCoordinate(int m, int t, int linear)
    {
        CheckShape(m, t);
        if (linear < 0 || linear >= NumNodes(m, t))
            throw new ArgumentOutOfRangeException(nameof(linear), linear, $"Z({m},{t}) linear indices are 0..{NumNodes(m, t) - 1}");
        int z = linear % m;
        int r = linear / m;
        int j = r % 2;
        r /= 2;
        int k = r % t;
        r /= t;
        int w = r % (2 * m + 1);
        int u = r / (2 * m + 1);
        return new ZephyrCoordinate(u, w, k, j, z);
    }

    public static bool InRange(int m, int t, ZephyrCoordinate c) =>
        (uint)c.U <= 1 && (uint)c.W < (uint)(2 * m + 1) && (uint)c.K < (uint)t && (uint)c.J <= 1 && (uint)c.Z < (uint)m;

    public static Graph Create(int m, int t = 4)
    {
        CheckShape(m, t);
        var nodes = Enumerable.Range(0, NumNodes(m, t)).ToArray();
        var edges = new List<(int, int)>();
        for (int u = 0; u < 2; u++)
        for (int w = 0; w < 2 * m + 1; w++)
        for (int k = 0; k < t; k++)
        for (int j = 0; j < 2; j++)
        for (int z = 0; z < m; z++)
        {
            var c = new ZephyrCoordinate(u, w, k, j, z);
            int a = ToLinear(m, t, c);
            if (z + 1 < m) edges.Add((a, ToLinear(m, t, c with { Z = z + 1 })));          // external
            if (j == 0)
            {
                edges.Add((a, ToLinear(m, t, c with { J = 1 })));                          // odd, a=0
                if (z >= 1) edges.Add((a, ToLinear(m, t, c with { J = 1, Z = z - 1 })));   // odd, a=1
            }
        }
        for (int w = 0; w < m; w++)                                                         // internal
        for (int z = 0; z < m; z++)
        for (int k = 0; k < t; k++)
        for (int h = 0; h < t; h++)
        for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
        for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
        {
            int p = ToLinear(m, t, new ZephyrCoordinate(0, 2 * w + 1 + a * (2 * i - 1), k, j, z));
            int q = ToLinear(m, t, new ZephyrCoordinate(1, 2 * z + 1 + b * (2 * j - 1), h, i, w));
            edges.Add((p, q));
        }
        return Graph.FromEdges(nodes, edges, new LatticeShape(LatticeKind.Zephyr, m, t));
    }

    /// <summary>
    /// The translation of a linear index by (dx, dy) cells, or −1 when the image leaves the lattice. The rules are
    /// invariant under w→w+2dx, z→z+dy for u=0 together with w→w+2dy, z→z+dx for u=1 (substitute into the
    /// internal-coupler rule: w→w+dx there moves the u=0 offset 2w+1 by 2dx and the u=1 parallel offset by dx).
    /// </summary>
    public static int Translate(int m, int t, int linear, int dx, int dy)
    {
        var c = ToCoordinate(m, t, linear);
        var d = c.U == 0 ? c with { W = c.W + 2 * dx, Z = c.Z + dy } : c with { W = c.W + 2 * dy, Z = c.Z + dx };
        return InRange(m, t, d) ? ToLinear(m, t, d) : -1;
    }

    private static void CheckShape(int m, int t)
    {
        if (m < 1) throw new ArgumentOutOfRangeException(nameof(m), m, "Zephyr Z(m,t) needs m ≥ 1");
        if (t < 1) throw new ArgumentOutOfRangeException(nameof(t), t, "Zephyr Z(m,t) needs t ≥ 1");
    }
}
