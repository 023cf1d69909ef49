namespace QaActors.DWave.Topology;

/// <summary>Hardware graphs as a solver reports them, and the ideal lattices they are cut from.</summary>
public static class HardwareGraph
{
    /// <summary>
    /// A solver's working graph from its <c>qubits</c> and <c>couplers</c> properties (SAPI solver properties; Ocean's
    /// mocks list <c>qubits=sorted(nodes)</c> and <c>couplers=sorted(sorted(e))</c>). Every coupler must join two listed qubits.
    /// The lattice shape (from the solver's <c>topology</c> property) lets tiling use the lattice's translations.
    /// </summary>
    public static Graph FromSolver(IEnumerable<int> qubits, IEnumerable<(int U, int V)> couplers, LatticeShape shape = default)
    {
        var q = qubits.ToArray();
        var set = new HashSet<int>(q);
        foreach (var (u, v) in couplers as ICollection<(int, int)> ?? couplers.ToArray())
        {
            if (!set.Contains(u) || !set.Contains(v))
                throw new ArgumentException($"solver coupler ({u},{v}) joins a qubit missing from the qubits list; the solver properties are inconsistent", nameof(couplers));
        }
        return Graph.FromEdges(q, couplers, shape);
    }

    /// <summary>The ideal lattice for a shape: P(m) fabric or Z(m, t).</summary>
    public static Graph Ideal(LatticeShape shape) => shape.Kind switch
    {
        LatticeKind.Pegasus => Pegasus.Create(shape.M),
        LatticeKind.Zephyr => Zephyr.Create(shape.M, shape.T),
        _ => throw new ArgumentException("a lattice shape (pegasus or zephyr) is needed", nameof(shape)),
    };

    /// <summary>Parses "pegasus:16", "pegasus 16", "zephyr:15,4", "zephyr 6 4" (the CLI's --topology forms).</summary>
    public static LatticeShape ParseShape(string text)
    {
        var parts = text.Split([':', ',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string Hint() => $"topology '{text}' is not understood; use pegasus:M (e.g. pegasus:16) or zephyr:M,T (e.g. zephyr:15,4)";
        if (parts.Length < 2 || !int.TryParse(parts[1], out int m)) throw new FormatException(Hint());
        switch (parts[0].ToLowerInvariant())
        {
            case "pegasus" when parts.Length == 2:
                return new LatticeShape(LatticeKind.Pegasus, m);
            case "zephyr" when parts.Length is 2 or 3:
                int t = 4;
                if (parts.Length == 3 && !int.TryParse(parts[2], out t)) throw new FormatException(Hint());
                return new LatticeShape(LatticeKind.Zephyr, m, t);
            default:
                throw new FormatException(Hint());
        }
    }

    /// <summary>A seeded random set of qubits (a fraction of the graph's nodes) to mark dead, for tests and the simulator.</summary>
    public static HashSet<int> RandomDeadQubits(Graph g, double fraction, ulong seed)
    {
        if (fraction is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "must be in [0,1]");
        var nodes = g.Nodes.ToArray();
        var rng = new QaActors.Sampling.Rng(seed);
        for (int i = nodes.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (nodes[i], nodes[j]) = (nodes[j], nodes[i]);
        }
        return new HashSet<int>(nodes.Take((int)Math.Round(fraction * nodes.Length)));
    }
}
