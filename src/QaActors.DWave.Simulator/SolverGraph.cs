namespace QaActors.DWave.Simulator;

/// <summary>
/// A QPU working graph as a solver publishes it: <c>qubits</c> and <c>couplers</c> (u &lt; v, sorted, as
/// dwave-cloud-client's mocks build them), the nominal qubit count, and the topology description.
/// </summary>
public sealed record SolverGraph(int NumQubits, int[] Qubits, (int U, int V)[] Couplers, string TopologyType, int[] Shape)
{
    public static SolverGraph FromEdges(int numQubits, IEnumerable<int> nodes, IEnumerable<(int, int)> edges, string topologyType, int[] shape)
    {
        var q = nodes.Distinct().OrderBy(x => x).ToArray();
        var c = edges.Select(e => (Math.Min(e.Item1, e.Item2), Math.Max(e.Item1, e.Item2))).Distinct()
            .OrderBy(e => e.Item1).ThenBy(e => e.Item2).ToArray();
        var set = q.ToHashSet();
        foreach (var (u, v) in c)
            if (!set.Contains(u) || !set.Contains(v))
                throw new ArgumentException($"edge ({u},{v}) joins a node that is not in the graph");
        return new SolverGraph(numQubits, q, c, topologyType, shape);
    }

    /// <summary>10 hex digits of a hash over the qubits, couplers and topology: the same graph always gets the same id.</summary>
    public string ContentId()
    {
        var h = new System.IO.Hashing.XxHash64();
        h.Append(System.Text.Encoding.UTF8.GetBytes($"{TopologyType}|{string.Join(",", Shape)}|{NumQubits}|"));
        h.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Qubits.AsSpan()));
        foreach (var (u, v) in Couplers) { h.Append(BitConverter.GetBytes(u)); h.Append(BitConverter.GetBytes(v)); }
        return h.GetCurrentHashAsUInt64().ToString("x16")[..10];
    }

    /// <summary>The graph with some qubits removed (a QPU's inactive qubits) together with their couplers.</summary>
    public SolverGraph WithoutQubits(IEnumerable<int> dead)
    {
        var d = dead.ToHashSet();
        if (d.Count == 0) return this;
        return this with
        {
            Qubits = Qubits.Where(q => !d.Contains(q)).ToArray(),
            Couplers = Couplers.Where(c => !d.Contains(c.U) && !d.Contains(c.V)).ToArray(),
        };
    }

    /// <summary>A reproducible random choice of <paramref name="fraction"/> of the qubits to mark dead.</summary>
    public int[] ChooseDead(double fraction, ulong seed)
    {
        if (fraction is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "dead-qubit fraction must be in [0, 1)");
        int k = (int)Math.Round(fraction * Qubits.Length);
        var rng = new QaActors.Sampling.Rng(seed);
        var a = (int[])Qubits.Clone();
        for (int i = 0; i < k; i++)
        {
            int j = i + rng.NextInt(a.Length - i);
            (a[i], a[j]) = (a[j], a[i]);
        }
        return a[..k];
    }
}

/// <summary>
/// Where a simulated solver's graph comes from. The Pegasus/Zephyr generators of QaActors.DWave.Topology plug in
/// here (the CLI passes a source that builds P16 / Z(m,t)); tests use <see cref="TestGraphs"/>.
/// </summary>
public interface ISolverGraphSource
{
    SolverGraph Build(string topologyType, int[] shape);
}

/// <summary>Adapts a delegate to <see cref="ISolverGraphSource"/>.</summary>
public sealed class DelegateGraphSource(Func<string, int[], SolverGraph> build) : ISolverGraphSource
{
    public SolverGraph Build(string topologyType, int[] shape) => build(topologyType, shape);
}

/// <summary>
/// Small graphs of our own for tests, independent of the Pegasus/Zephyr generators: a rows × cols grid with both
/// diagonals in every cell (a "king's graph": degree up to 8, with triangles, so frustrated problems exist).
/// Qubit r·cols+c; labels are offset by <c>first</c> so that tests see non-zero-based qubit ids as on a real QPU.
/// </summary>
public static class TestGraphs
{
    public const string KingsType = "kings";

    public static SolverGraph Kings(int rows, int cols, int first = 0)
    {
        if (rows < 1 || cols < 1) throw new ArgumentOutOfRangeException(nameof(rows), "a grid needs at least one row and column");
        int Id(int r, int c) => first + r * cols + c;
        var nodes = new List<int>();
        var edges = new List<(int, int)>();
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                nodes.Add(Id(r, c));
                if (c + 1 < cols) edges.Add((Id(r, c), Id(r, c + 1)));
                if (r + 1 < rows) edges.Add((Id(r, c), Id(r + 1, c)));
                if (r + 1 < rows && c + 1 < cols) edges.Add((Id(r, c), Id(r + 1, c + 1)));
                if (r + 1 < rows && c > 0) edges.Add((Id(r, c), Id(r + 1, c - 1)));
            }
        return SolverGraph.FromEdges(first + rows * cols, nodes, edges, KingsType, [rows, cols]);
    }

    /// <summary>A source that builds kings graphs for any topology request (shape [rows, cols] or [m] → m×m).</summary>
    public static ISolverGraphSource Source => new DelegateGraphSource((_, shape) =>
        shape.Length >= 2 ? Kings(shape[0], shape[1]) : Kings(shape.Length == 1 ? shape[0] : 4, shape.Length == 1 ? shape[0] : 4));
}
