using System.Diagnostics;
using QaActors.DWave.Embedding;
using QaActors.DWave.Topology;
using Xunit.Abstractions;

namespace QaActors.DWave.Tests;

public class TilingTests(ITestOutputHelper output)
{
    private static readonly Graph P16 = Pegasus.Create(16);

    private static List<(int, int)> Star(int k) => Enumerable.Range(0, k).Select(i => (i, k)).ToList();

    private static void AssertDisjointAndValid(IReadOnlyList<MinorEmbedding> tiles, IEnumerable<(int, int)> edges, Graph target)
    {
        var seen = new HashSet<int>();
        foreach (var t in tiles)
        {
            EmbeddingVerifier.Verify(edges, target, t);
            foreach (int q in t.Qubits) Assert.True(seen.Add(q), $"qubit {q} used by two tiles");
        }
    }

    [Fact]
    public void AtLeastSixStars548OnP16()
    {
        var sw = Stopwatch.StartNew();
        var tiles = Tiling.Create(Star(548), P16, 100);
        output.WriteLine($"star-548 tiles on P16: {tiles.Count} in {sw.ElapsedMilliseconds} ms; hub chains {string.Join(",", tiles.Select(t => t.Chain(548).Length))}");
        Assert.True(tiles.Count >= 6, $"only {tiles.Count} copies");
        AssertDisjointAndValid(tiles, Star(548), P16);
        var capped = Tiling.Create(Star(548), P16, 100, new TilingOptions { MaxChainLength = 60 });
        Assert.True(capped.Count >= 6);
        Assert.All(capped, t => Assert.True(t.MaxChainLength <= 60));
    }

    [Fact]
    public void StarsOnP16WithTwoPercentDead()
    {
        var g = P16.WithoutNodes(HardwareGraph.RandomDeadQubits(P16, 0.02, 31));
        var tiles = Tiling.Create(Star(548), g, 100);
        output.WriteLine($"star-548 tiles on P16 with 2% dead: {tiles.Count}; hub chains {string.Join(",", tiles.Select(t => t.Chain(548).Length))}");
        Assert.True(tiles.Count >= 4, $"only {tiles.Count} copies");
        AssertDisjointAndValid(tiles, Star(548), g);
    }

    [Fact]
    public void AtLeastFiftyStars64OnP16()
    {
        var sw = Stopwatch.StartNew();
        var tiles = Tiling.Create(Star(64), P16, 200);
        output.WriteLine($"star-64 tiles on P16: {tiles.Count} in {sw.ElapsedMilliseconds} ms; max chain {tiles.Max(t => t.MaxChainLength)}");
        Assert.True(tiles.Count >= 50, $"only {tiles.Count} copies");
        AssertDisjointAndValid(tiles, Star(64), P16);
    }

    [Fact]
    public void MaxCopiesIsRespectedAndGeneralProblemsTile()
    {
        var tiles = Tiling.Create(Star(64), P16, 3);
        Assert.Equal(3, tiles.Count);
        var ring = Enumerable.Range(0, 8).Select(i => (i, (i + 1) % 8)).Append((0, 4)).ToList();
        var p4 = Pegasus.Create(4);
        var many = Tiling.Create(ring, p4, 1000);
        output.WriteLine($"ring-8 tiles on P4: {many.Count}");
        Assert.True(many.Count >= 10);
        AssertDisjointAndValid(many, ring, p4);
    }

    [Fact]
    public void TilingWorksWithDeadQubitsAndOnZephyr()
    {
        var g = P16.WithoutNodes(HardwareGraph.RandomDeadQubits(P16, 0.02, 21));
        var tiles = Tiling.Create(Star(64), g, 200);
        output.WriteLine($"star-64 tiles on P16 with 2% dead: {tiles.Count}");
        Assert.True(tiles.Count >= 40);
        AssertDisjointAndValid(tiles, Star(64), g);
        var z = Zephyr.Create(6, 4);
        var zt = Tiling.Create(Star(64), z, 200);
        output.WriteLine($"star-64 tiles on Z(6,4): {zt.Count}");
        AssertDisjointAndValid(zt, Star(64), z);
        Assert.True(zt.Count >= 10);
    }
}
