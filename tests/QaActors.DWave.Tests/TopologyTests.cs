using QaActors.DWave.Topology;

namespace QaActors.DWave.Tests;

public class TopologyTests
{
    // Counts from dwave-networkx's pegasus_graph / zephyr_graph (docs/dwave.md, "Topologies").
    [Theory]
    [InlineData(16, true, 5640, 40484)]
    [InlineData(16, false, 5760, 40656)]
    [InlineData(6, true, 680, 4484)]
    [InlineData(4, true, 264, 1604)]
    [InlineData(3, true, 128, 704)]
    [InlineData(2, true, 40, 164)]
    public void PegasusCountsMatchDwaveNetworkx(int m, bool fabric, int nodes, int edges)
    {
        var g = Pegasus.Create(m, fabric);
        Assert.Equal(nodes, g.NumNodes);
        Assert.Equal(edges, g.NumEdges);
        Assert.Equal(LatticeKind.Pegasus, g.Shape.Kind);
    }

    [Fact]
    public void PegasusFullGraphEdgeFormula()
    {
        for (int m = 3; m <= 8; m++)
            Assert.Equal(12 * (15 * (m - 1) * (m - 1) + m - 3), Pegasus.Create(m, fabricOnly: false).NumEdges);
    }

    [Fact]
    public void PegasusP16FirstNodeAndDegrees()
    {
        var g = Pegasus.Create(16);
        Assert.Equal(30, g.Nodes[0]);
        Assert.Equal(5729, g.Nodes[^1]);
        Assert.Equal(new[] { 31, 45, 2940, 2955, 2970, 2985 }, g.Neighbours(30).ToArray());
        Assert.Equal(15, g.MaxDegree());
        foreach (int n in g.Nodes) Assert.InRange(g.Degree(n), 1, 15);
        Assert.Equal(1, g.ConnectedComponents());
    }

    [Theory]
    [InlineData(6, 4, 1248, 11400)]
    [InlineData(12, 4, 4800, 45864)]
    [InlineData(15, 4, 7440, 71736)]
    [InlineData(4, 4, 576, 5032)]
    [InlineData(1, 4, 48, 280)]
    public void ZephyrCountsMatchDwaveNetworkx(int m, int t, int nodes, int edges)
    {
        var g = Zephyr.Create(m, t);
        Assert.Equal(nodes, g.NumNodes);
        Assert.Equal(edges, g.NumEdges);
        Assert.Equal(4 * t * m * (2 * m + 1), nodes);
        if (m > 1) Assert.Equal(2 * t * ((8 * t + 8) * m * m - 2 * m - 3), edges);
    }

    [Fact]
    public void ZephyrNeighboursAndDegrees()
    {
        var g = Zephyr.Create(6, 4);
        Assert.Equal(new[] { 1, 6, 624, 636, 648, 660, 672, 684, 696, 708 }, g.Neighbours(0).ToArray());
        Assert.Equal(20, g.MaxDegree());
        foreach (int n in g.Nodes) Assert.InRange(g.Degree(n), 1, 20);
        Assert.Equal(20, Zephyr.Create(15, 4).MaxDegree());
    }

    [Fact]
    public void PegasusCoordinatesRoundTrip()
    {
        const int m = 16;
        for (int i = 0; i < 24 * m * (m - 1); i++)
        {
            var c = Pegasus.ToCoordinate(m, i);
            Assert.Equal(i, Pegasus.ToLinear(m, c));
        }
        Assert.Equal(30, Pegasus.ToLinear(m, new PegasusCoordinate(0, 0, 2, 0)));
        Assert.Equal(new PegasusCoordinate(1, 0, 4, 0), Pegasus.ToCoordinate(m, 2940));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pegasus.ToLinear(m, new PegasusCoordinate(0, 0, 12, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pegasus.ToCoordinate(m, 5760));
    }

    [Fact]
    public void ZephyrCoordinatesRoundTrip()
    {
        const int m = 15, t = 4;
        for (int i = 0; i < Zephyr.NumNodes(m, t); i++)
        {
            var c = Zephyr.ToCoordinate(m, t, i);
            Assert.Equal(i, Zephyr.ToLinear(m, t, c));
        }
        Assert.Equal(new ZephyrCoordinate(0, 0, 0, 1, 0), Zephyr.ToCoordinate(6, 4, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => Zephyr.ToLinear(m, t, new ZephyrCoordinate(2, 0, 0, 0, 0)));
    }

    [Fact]
    public void TranslationsMapCouplersToCouplers()
    {
        var p = Pegasus.Create(8);
        foreach (var (u, v) in p.Edges())
        {
            int a = Pegasus.Translate(8, u, 1, 2), b = Pegasus.Translate(8, v, 1, 2);
            if (a >= 0 && b >= 0) Assert.True(p.HasEdge(a, b), $"P8 edge ({u},{v}) moved to ({a},{b}) is not an edge");
        }
        var z = Zephyr.Create(4, 4);
        foreach (var (u, v) in z.Edges())
        {
            int a = Zephyr.Translate(4, 4, u, 1, 1), b = Zephyr.Translate(4, 4, v, 1, 1);
            if (a >= 0 && b >= 0) Assert.True(z.HasEdge(a, b), $"Z4 edge ({u},{v}) moved to ({a},{b}) is not an edge");
        }
    }

    [Fact]
    public void DeadQubitsGiveWorkingGraph()
    {
        var g = Pegasus.Create(16);
        var dead = HardwareGraph.RandomDeadQubits(g, 0.02, 7);
        Assert.Equal(113, dead.Count);
        var w = g.WithoutNodes(dead);
        Assert.Equal(g.NumNodes - dead.Count, w.NumNodes);
        foreach (int d in dead) Assert.False(w.Contains(d));
        foreach (var (u, v) in w.Edges()) Assert.True(g.HasEdge(u, v));
        int expectedEdges = g.Edges().Count(e => !dead.Contains(e.U) && !dead.Contains(e.V));
        Assert.Equal(expectedEdges, w.NumEdges);
        Assert.Equal(g.Shape, w.Shape);
    }

    [Fact]
    public void FromSolverListsAndErrors()
    {
        var ideal = Zephyr.Create(2, 4);
        var g = HardwareGraph.FromSolver(ideal.Nodes.ToArray(), ideal.Edges().ToList(), ideal.Shape);
        Assert.Equal(ideal.NumNodes, g.NumNodes);
        Assert.Equal(ideal.NumEdges, g.NumEdges);
        var ex = Assert.Throws<ArgumentException>(() => HardwareGraph.FromSolver([0, 1], [(0, 1), (1, 5)]));
        Assert.Contains("(1,5)", ex.Message);
        Assert.Equal(new LatticeShape(LatticeKind.Pegasus, 16), HardwareGraph.ParseShape("pegasus:16"));
        Assert.Equal(new LatticeShape(LatticeKind.Zephyr, 15, 4), HardwareGraph.ParseShape("zephyr 15 4"));
        Assert.Throws<FormatException>(() => HardwareGraph.ParseShape("chimera:16"));
    }

    [Fact]
    public void GraphRefusesBadInputAndDropsDeadCouplers()
    {
        Assert.Contains("self-loop", Assert.Throws<ArgumentException>(() => Graph.FromEdges([1, 2], [(1, 1)])).Message);
        Assert.Contains("not in the node list", Assert.Throws<ArgumentException>(() => Graph.FromEdges([1, 2], [(1, 3)])).Message);
        Assert.Throws<ArgumentException>(() => Graph.FromEdges([-1], []));
        var g = Graph.FromEdges([5, 7, 9], [(5, 7), (7, 5), (7, 9)]);
        Assert.Equal(2, g.NumEdges);
        Assert.True(g.HasEdge(7, 5));
        Assert.False(g.HasEdge(5, 9));
        Assert.Equal(10, g.IdBound);
        Assert.Empty(g.Neighbours(6).ToArray());
        var p = Pegasus.Create(4);
        var (u, v) = p.Edges().First();
        var w = p.WithoutEdges([(v, u)]);
        Assert.Equal(p.NumEdges - 1, w.NumEdges);
        Assert.Equal(p.NumNodes, w.NumNodes);
        Assert.False(w.HasEdge(u, v));
    }
}
