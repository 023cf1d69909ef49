using System.Diagnostics;
using QaActors.DWave.Embedding;
using QaActors.DWave.Topology;
using QaActors.Sampling;
using Xunit.Abstractions;

namespace QaActors.DWave.Tests;

public class EmbeddingHeuristicTests(ITestOutputHelper output)
{
    internal static List<(int, int)> RandomGraph(int n, double p, ulong seed)
    {
        var rng = new Rng(seed);
        var edges = new List<(int, int)>();
        for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (rng.NextDouble() < p) edges.Add((i, j));
        return edges;
    }

    [Theory]
    [InlineData(20, 0.2, 1UL, 6)]
    [InlineData(30, 0.15, 2UL, 6)]
    [InlineData(40, 0.1, 3UL, 6)]
    [InlineData(25, 0.3, 4UL, 6)]
    [InlineData(30, 0.2, 5UL, 16)]
    public void RandomGraphsEmbedAndVerify(int n, double p, ulong seed, int m)
    {
        var edges = RandomGraph(n, p, seed);
        var target = Pegasus.Create(m);
        var sw = Stopwatch.StartNew();
        var e = MinorEmbedder.Find(edges, target, new MinorEmbedderOptions { Seed = seed }, Enumerable.Range(0, n));
        sw.Stop();
        EmbeddingVerifier.Verify(edges, target, e, Enumerable.Range(0, n));
        Assert.Equal(n, e.NumVariables);
        output.WriteLine($"G({n},{p}) {edges.Count} edges on P{m}: max chain {e.MaxChainLength}, {e.TotalQubits} qubits, {sw.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void CliqueK12EmbedsOnP6WithDeadQubits()
    {
        var clique = new List<(int, int)>();
        for (int i = 0; i < 12; i++) for (int j = i + 1; j < 12; j++) clique.Add((i, j));
        var p6 = Pegasus.Create(6);
        var g = p6.WithoutNodes(HardwareGraph.RandomDeadQubits(p6, 0.02, 5));
        var e = MinorEmbedder.Find(clique, g, new MinorEmbedderOptions { Seed = 3 });
        EmbeddingVerifier.Verify(clique, g, e);
        Assert.True(e.MaxChainLength > 1, "K12 cannot embed with single-qubit chains in a degree-15 graph with no K12 subgraph");
    }

    [Fact]
    public void SmallStarOnZephyr()
    {
        var star = Enumerable.Range(0, 40).Select(i => (i, 40)).ToList();
        var z = Zephyr.Create(2, 4);
        var e = MinorEmbedder.Find(star, z);
        EmbeddingVerifier.Verify(star, z, e);
    }

    [Fact]
    public void ImpossibleProblemFailsWithinTimeoutWithReason()
    {
        // K5 cannot be a minor of a 4-node path.
        var k5 = new List<(int, int)>();
        for (int i = 0; i < 5; i++) for (int j = i + 1; j < 5; j++) k5.Add((i, j));
        var path = Graph.FromEdges([0, 1, 2, 3, 4, 5], [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]);
        var ex = Assert.Throws<EmbeddingException>(() => MinorEmbedder.Find(k5, path, new MinorEmbedderOptions { Tries = 2, Timeout = TimeSpan.FromSeconds(5) }));
        Assert.Contains("no embedding of 5 variables", ex.Message);
        var tooBig = Assert.Throws<EmbeddingException>(() => MinorEmbedder.Find(k5, Graph.FromEdges([0, 1], [(0, 1)])));
        Assert.Contains("only 2 qubits", tooBig.Message);
    }

    [Fact]
    public void SameSeedSameEmbedding()
    {
        var edges = RandomGraph(15, 0.3, 9);
        var t = Pegasus.Create(4);
        var a = MinorEmbedder.Find(edges, t, new MinorEmbedderOptions { Seed = 42 });
        var b = MinorEmbedder.Find(edges, t, new MinorEmbedderOptions { Seed = 42 });
        foreach (int v in a.Variables) Assert.Equal(a.Chain(v).ToArray(), b.Chain(v).ToArray());
    }
}
