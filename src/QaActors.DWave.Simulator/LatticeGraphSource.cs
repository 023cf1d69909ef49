using QaActors.DWave.Topology;

namespace QaActors.DWave.Simulator;

/// <summary>
/// The production graph source: Pegasus P(m) fabric and Zephyr Z(m, t) from QaActors.DWave.Topology, with
/// dwave-networkx's linear indices. <c>num_qubits</c> is the nominal count of the full lattice, as SAPI reports
/// it (P16: 24·16·15 = 5760; Z(m,t): 4tm(2m+1)), while <c>qubits</c> lists the working fabric only.
/// Other topology names ("kings") fall through to <see cref="TestGraphs"/> so that small drills stay possible.
/// </summary>
public sealed class LatticeGraphSource : ISolverGraphSource
{
    public static readonly LatticeGraphSource Instance = new();

    public SolverGraph Build(string topologyType, int[] shape)
    {
        switch (topologyType.ToLowerInvariant())
        {
            case "pegasus":
            {
                if (shape.Length != 1) throw new ArgumentException($"pegasus needs shape [m], got [{string.Join(",", shape)}]");
                int m = shape[0];
                var g = Pegasus.Create(m);
                return SolverGraph.FromEdges(24 * m * (m - 1), g.Nodes.ToArray(), g.Edges(), "pegasus", [m]);
            }
            case "zephyr":
            {
                if (shape.Length is not (1 or 2)) throw new ArgumentException($"zephyr needs shape [m, t], got [{string.Join(",", shape)}]");
                int m = shape[0], t = shape.Length == 2 ? shape[1] : 4;
                var g = Zephyr.Create(m, t);
                return SolverGraph.FromEdges(Zephyr.NumNodes(m, t), g.Nodes.ToArray(), g.Edges(), "zephyr", [m, t]);
            }
            case TestGraphs.KingsType:
                return TestGraphs.Source.Build(topologyType, shape);
            default:
                throw new ArgumentException($"topology '{topologyType}' is not known; use pegasus, zephyr or kings");
        }
    }
}
