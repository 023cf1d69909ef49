using System.Diagnostics;
using QaActors.DWave.Embedding;
using QaActors.DWave.Topology;
using Xunit.Abstractions;

namespace QaActors.DWave.Tests;

public class EmbeddingBipartiteTests(ITestOutputHelper output)
{
    private static readonly Graph P16 = Pegasus.Create(16);

    private static IEnumerable<(int, int)> KxM(int k, int m) => from l in Enumerable.Range(0, k) from h in Enumerable.Range(k, m) select (l, h);

    [Fact]
    public void Star548EmbedsOnP16()
    {
        var sw = Stopwatch.StartNew();
        var e = BipartiteEmbedder.Find(548, 1, P16);
        sw.Stop();
        EmbeddingVerifier.Verify(KxM(548, 1), P16, e);
        Assert.Equal(549, e.NumVariables);
        for (int j = 0; j < 548; j++) Assert.Single(e.Chain(j));
        output.WriteLine($"star 548 on P16: hub chain {e.Chain(548).Length} qubits, {e.TotalQubits} qubits, {sw.Elapsed.TotalMilliseconds:F1} ms");
    }

    [Theory]
    [InlineData(0.02, 11UL)]
    [InlineData(0.02, 12UL)]
    [InlineData(0.05, 13UL)]
    public void Star548EmbedsOnP16WithDeadQubits(double fraction, ulong seed)
    {
        var dead = HardwareGraph.RandomDeadQubits(P16, fraction, seed);
        var g = P16.WithoutNodes(dead);
        var sw = Stopwatch.StartNew();
        var e = BipartiteEmbedder.Find(548, 1, g);
        sw.Stop();
        EmbeddingVerifier.Verify(KxM(548, 1), g, e);
        Assert.DoesNotContain(e.Qubits, dead.Contains);
        output.WriteLine($"star 548 on P16 with {dead.Count} dead: hub chain {e.Chain(548).Length}, {sw.Elapsed.TotalMilliseconds:F1} ms");
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(16, 1)]
    [InlineData(64, 1)]
    [InlineData(8, 2)]
    [InlineData(16, 2)]
    [InlineData(64, 2)]
    [InlineData(548, 2)]
    [InlineData(8, 4)]
    [InlineData(16, 4)]
    [InlineData(64, 4)]
    [InlineData(548, 4)]
    public void CompleteBipartiteFamilyEmbedsOnP16(int k, int m)
    {
        var sw = Stopwatch.StartNew();
        var e = BipartiteEmbedder.Find(k, m, P16);
        sw.Stop();
        EmbeddingVerifier.Verify(KxM(k, m), P16, e);
        output.WriteLine($"K×M {k}×{m}: max chain {e.MaxChainLength}, {e.TotalQubits} qubits, {sw.Elapsed.TotalMilliseconds:F1} ms");
    }

    [Fact]
    public void StarEmbedsOnZephyr()
    {
        var z = Zephyr.Create(6, 4);
        var e = BipartiteEmbedder.Find(548, 1, z);
        EmbeddingVerifier.Verify(KxM(548, 1), z, e);
    }

    [Fact]
    public void TooLargeFailsWithReason()
    {
        var p2 = Pegasus.Create(2);
        var ex = Assert.Throws<EmbeddingException>(() => BipartiteEmbedder.Find(548, 1, p2));
        Assert.Contains("549", ex.Message);
        var ex2 = Assert.Throws<EmbeddingException>(() => BipartiteEmbedder.Find(39, 1, p2, new BipartiteOptions { Tries = 2 }));
        Assert.Contains("no K×M", ex2.Message);
    }

    [Fact]
    public void RecognisesCompleteBipartite()
    {
        Assert.True(BipartiteEmbedder.TryRecognise(KxM(5, 2), out var l, out var h));
        Assert.Equal(Enumerable.Range(0, 5), l);
        Assert.Equal(new[] { 5, 6 }, h);
        Assert.True(BipartiteEmbedder.TryRecognise(KxM(3, 3), out l, out h));
        Assert.Equal(3, l.Length);
        Assert.False(BipartiteEmbedder.TryRecognise(KxM(5, 2).Append((0, 1)), out _, out _));
        Assert.False(BipartiteEmbedder.TryRecognise(KxM(5, 2).Skip(1), out _, out _));
    }
}
