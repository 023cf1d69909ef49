using QaActors.DWave.Embedding;
using QaActors.DWave.Topology;

namespace QaActors.DWave.Tests;

public class EmbeddingVerifierTests
{
    // Path 0-1-2-3-4 plus 5 isolated from 4.
    private static readonly Graph Path = Graph.FromEdges([0, 1, 2, 3, 4, 5], [(0, 1), (1, 2), (2, 3), (3, 4)]);
    private static readonly (int, int)[] Triangle = [(7, 8), (8, 9)];

    private static MinorEmbedding E(params (int V, int[] Chain)[] chains) => new(chains.ToDictionary(c => c.V, c => c.Chain));

    [Fact]
    public void ValidEmbeddingPasses()
    {
        var e = E((7, [0, 1]), (8, [2]), (9, [3, 4]));
        EmbeddingVerifier.Verify(Triangle, Path, e);
        Assert.Null(EmbeddingVerifier.Check(Triangle, Path, e));
    }

    [Theory]
    [InlineData("missing", "variable 9 has no chain")]
    [InlineData("empty", "chain of variable 9 is empty")]
    [InlineData("dead", "qubit 42, which is not in the target graph")]
    [InlineData("overlap", "qubit 2 is in the chains of both variable 8 and variable 9")]
    [InlineData("disconnected", "chain of variable 9 (2 qubits) is not connected")]
    [InlineData("noedge", "logical edge (8,9) has no coupler")]
    [InlineData("isolatedNode", "variable 11 has no chain")]
    public void EachKindOfBadEmbeddingIsCaught(string kind, string expected)
    {
        var e = kind switch
        {
            "missing" => E((7, [0, 1]), (8, [2])),
            "empty" => E((7, [0, 1]), (8, [2]), (9, [])),
            "dead" => E((7, [0, 1]), (8, [2]), (9, [3, 42])),
            "overlap" => E((7, [0, 1]), (8, [2]), (9, [2, 3])),
            "disconnected" => E((7, [1]), (8, [2]), (9, [3, 5])),
            "noedge" => E((7, [0, 1]), (8, [2]), (9, [4])),
            _ => E((7, [0, 1]), (8, [2]), (9, [3, 4])),
        };
        var nodes = kind == "isolatedNode" ? new[] { 7, 8, 9, 11 } : null;
        var ex = Assert.Throws<EmbeddingException>(() => EmbeddingVerifier.Verify(Triangle, Path, e, nodes));
        Assert.Contains(expected, ex.Message);
        Assert.False(EmbeddingVerifier.IsValid(Triangle, Path, e, nodes));
    }
}

public class EmbeddingFinderTests
{
    [Fact]
    public void FinderTakesConstructivePathForKxMAndHeuristicOtherwise()
    {
        var p6 = Pegasus.Create(6);
        var star = Enumerable.Range(0, 100).Select(i => (i, 100)).ToList();
        var e = EmbeddingFinder.Find(star, p6);
        EmbeddingVerifier.Verify(star, p6, e);
        Assert.All(Enumerable.Range(0, 100), i => Assert.Single(e.Chain(i)));
        var ring = Enumerable.Range(0, 10).Select(i => (i, (i + 1) % 10)).ToList();
        var r = EmbeddingFinder.Find(ring, p6, null, [42]);
        EmbeddingVerifier.Verify(ring, p6, r, [42]);
        Assert.True(r.Contains(42));
    }

    [Fact]
    public void JsonRoundTripAndErrors()
    {
        var e = new MinorEmbedding(new Dictionary<int, int[]> { [0] = [31, 30], [5] = [45] });
        string json = EmbeddingJson.Write(e);
        Assert.Equal("{\"0\":[30,31],\"5\":[45]}", json);
        var back = EmbeddingJson.Read(json);
        Assert.Equal(new[] { 30, 31 }, back.Chain(0).ToArray());
        Assert.Equal(new[] { 45 }, back.Chain(5).ToArray());
        Assert.Throws<FormatException>(() => EmbeddingJson.Read("{\"x\":[1]}"));
        Assert.Throws<FormatException>(() => EmbeddingJson.Read("[1,2]"));
    }
}
