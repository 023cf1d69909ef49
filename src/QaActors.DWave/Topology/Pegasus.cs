namespace QaActors.DWave.Topology;

/// <summary>A Pegasus qubit in dwave-networkx coordinates: orientation u, perpendicular offset w, qubit index k, parallel offset z.</summary>
public readonly record struct PegasusCoordinate(int U, int W, int K, int Z);

/// <summary>
/// Pegasus P(m) graphs with dwave-networkx's coordinates and linear indices. Rules from
/// dwave-networkx <c>dwave/graphs/generators/pegasus.py</c> (<c>pegasus_graph</c>, default <c>offset_lists</c>) as
/// summarised in docs/dwave.md ("Topologies"):
/// nodes (u,w,k,z) with u∈{0,1}, w∈[0,m), k∈[0,12), z∈[0,m−1), linear index ((u·m+w)·12+k)·(m−1)+z;
/// external couplers (u,w,k,z)–(u,w,k,z+1); odd couplers (u,w,k,z)–(u,w,k+1,z) for even k;
/// internal couplers (0,w,k,z)–(1, z+[kk&lt;S0[k]], kk, w−[k&lt;S1[kk]]) for every kk;
/// fabric_only drops (w=0, k&lt;2) and (w=m−1, k≥10). P16 fabric: 5,640 nodes, 40,484 edges.
/// </summary>
public static class Pegasus
{
    // The default offsets (dwave-networkx pegasus_graph, offset_lists / offsets_index=0).
    private static readonly int[] S0 = [2, 2, 2, 2, 10, 10, 10, 10, 6, 6, 6, 6];
    private static readonly int[] S1 = [6, 6, 6, 6, 2, 2, 2, 2, 10, 10, 10, 10];

    public static int ToLinear(int m, PegasusCoordinate c)
    {
        CheckShape(m);
        if ((uint)c.U > 1 || (uint)c.W >= (uint)m || (uint)c.K >= 12 || (uint)c.Z >= (uint)(m - 1))
            throw new ArgumentOutOfRangeException(nameof(c), c, $"not a P({m}) coordinate: need u∈{{0,1}}, w∈[0,{m}), k∈[0,12), z∈[0,{m - 1})");
        return ((c.U * m + c.W) * 12 + c.K) * (m - 1) + c.Z;
    }

    public static PegasusCoordinate ToCoordinate(int m, int linear)
    {
        CheckShape(m);
        if (linear < 0 || linear >= 24 * m * (m - 1))
            throw new ArgumentOutOfRangeException(nameof(linear), linear, $"P({m}) linear indices are 0..{24 * m * (m - 1) - 1}");
        int z = linear % (m - 1);
        int r = linear / (m - 1);
        int k = r % 12;
        r /= 12;
        int w = r % m;
        int u = r / m;
        return new PegasusCoordinate(u, w, k, z);
    }

    /// <summary>Whether the coordinate is a node of P(m) (fabric-only or full).</summary>
    public static bool IsNode(int m, PegasusCoordinate c, bool fabricOnly)
    {
        if ((uint)c.U > 1 || (uint)c.W >= (uint)m || (uint)c.K >= 12 || (uint)c.Z >= (uint)(m - 1)) return false;
        if (!fabricOnly) return true;
        return !((c.W == 0 && c.K < 2) || (c.W == m - 1 && c.K >= 10));
    }

    /// <summary>P(m) with linear node ids; <paramref name="fabricOnly"/> as dwave-networkx's default (true).</summary>
    public static Graph Create(int m, bool fabricOnly = true)
    {
        CheckShape(m);
        var nodes = new List<int>();
        var edges = new List<(int, int)>();
        for (int u = 0; u < 2; u++)
        for (int w = 0; w < m; w++)
        for (int k = 0; k < 12; k++)
        for (int z = 0; z < m - 1; z++)
        {
            var c = new PegasusCoordinate(u, w, k, z);
            if (!IsNode(m, c, fabricOnly)) continue;
            int a = ToLinear(m, c);
            nodes.Add(a);
            Add(new PegasusCoordinate(u, w, k, z + 1));               // external
            if (k % 2 == 0) Add(new PegasusCoordinate(u, w, k + 1, z)); // odd
            if (u == 0)
            {
                for (int kk = 0; kk < 12; kk++)                           // internal
                    Add(new PegasusCoordinate(1, z + (kk < S0[k] ? 1 : 0), kk, w - (k < S1[kk] ? 1 : 0)));
            }

            void Add(PegasusCoordinate d)
            {
                if (IsNode(m, d, fabricOnly)) edges.Add((a, ToLinear(m, d)));
            }
        }
        return Graph.FromEdges(nodes, edges, new LatticeShape(LatticeKind.Pegasus, m));
    }

    /// <summary>
    /// The translation of a linear index by (dx, dy) tiles, or −1 when the image leaves the lattice. Pegasus's rules
    /// are invariant under w→w+dx, z→z+dy for vertical (u=0) qubits together with w→w+dy, z→z+dx for horizontal ones:
    /// substituting into the internal-coupler rule above maps every coupler onto a coupler.
    /// </summary>
    public static int Translate(int m, int linear, int dx, int dy, bool fabricOnly = true)
    {
        var c = ToCoordinate(m, linear);
        var d = c.U == 0 ? c with { W = c.W + dx, Z = c.Z + dy } : c with { W = c.W + dy, Z = c.Z + dx };
        return IsNode(m, d, fabricOnly) ? ToLinear(m, d) : -1;
    }

    private static void CheckShape(int m)
    {
        if (m < 2) throw new ArgumentOutOfRangeException(nameof(m), m, "Pegasus P(m) needs m ≥ 2 (Advantage is P16)");
    }
}
