using QaActors.DWave.Embedding;
using QaActors.DWave.Topology;
using QaActors.Sampling;

namespace QaActors.DWave.Tests;

public class EmbeddingProblemTests
{
    // Target K4 on qubits 10..13; variable 0 on {10,11}, variable 1 on {12,13}.
    private static readonly Graph K4 = Graph.FromEdges([10, 11, 12, 13], [(10, 11), (10, 12), (10, 13), (11, 12), (11, 13), (12, 13)]);
    private static readonly MinorEmbedding TwoChains = new(new Dictionary<int, int[]> { [0] = [10, 11], [1] = [12, 13] });

    private static Bqm Pair(double h0, double h1, double j) =>
        Bqm.FromArrays(Vartype.Spin, [h0, h1], [0], [1], [j]);

    private static double Linear(Bqm b, int label) => b.Linear[b.IndexOf(label)];

    private static double Coupling(Bqm b, int p, int q)
    {
        int i = b.IndexOf(p), k = b.IndexOf(q);
        var n = b.Neighbours(i);
        for (int t = 0; t < n.Length; t++) if (n[t] == k) return b.NeighbourBiases(i)[t];
        throw new KeyNotFoundException($"no coupler ({p},{q})");
    }

    [Fact]
    public void ChainStrengthUniformTorqueCompensationHandExample()
    {
        // J = {(0,1): 1, (1,2): -2} on 3 variables: rms J = sqrt(2.5), mean degree = 4/3.
        var b = Bqm.FromArrays(Vartype.Spin, [0.3, 0, 0], [0, 1], [1, 2], [1, -2]);
        double expected = 1.414 * Math.Sqrt(2.5) * Math.Sqrt(4.0 / 3.0);
        Assert.Equal(2.58155, expected, 4);
        Assert.Equal(expected, ChainStrength.UniformTorqueCompensation(b), 12);
        // A BINARY model is measured in its SPIN form: Q = 4 gives J = 1.
        var bin = Bqm.FromArrays(Vartype.Binary, [0, 0], [0], [1], [4]);
        Assert.Equal(1.414 * 1 * 1, ChainStrength.UniformTorqueCompensation(bin), 12);
        Assert.Equal(1, ChainStrength.UniformTorqueCompensation(Bqm.FromArrays(Vartype.Spin, [2, 3], [], [], [])));
        Assert.Equal(2 * 2.0, ChainStrength.Scaled(b, 2), 12); // max |bias| is |−2|
    }

    [Fact]
    public void BiasesAreSpreadAndChainsCoupled()
    {
        var p = EmbeddedProblem.Create(Pair(0.5, -0.3, 0.8), TwoChains, K4, new EmbedOptions { ChainStrength = 0.7 });
        Assert.Equal(0.25, Linear(p.Target, 10), 12);
        Assert.Equal(0.25, Linear(p.Target, 11), 12);
        Assert.Equal(-0.15, Linear(p.Target, 13), 12);
        foreach (var (a, c) in new[] { (10, 12), (10, 13), (11, 12), (11, 13) }) Assert.Equal(0.2, Coupling(p.Target, a, c), 12);
        Assert.Equal(-0.7, Coupling(p.Target, 10, 11), 12);
        Assert.Equal(-0.7, Coupling(p.Target, 12, 13), 12);
        Assert.Equal(1.4, p.Target.Offset, 12);
        Assert.Equal(0, p.ClippedCount);
        Assert.Equal(0.7, p.ChainStrengths[0]);
    }

    [Fact]
    public void DefaultChainStrengthIsUniformTorqueCompensation()
    {
        var logical = Pair(0.1, 0.2, 0.6);
        var p = EmbeddedProblem.Create(logical, TwoChains, K4);
        Assert.Equal(ChainStrength.UniformTorqueCompensation(logical), p.ChainStrengths[0], 12);
        Assert.Equal(-1.414 * 0.6, Coupling(p.Target, 10, 11), 12);
    }

    [Fact]
    public void ClippingIsCounted()
    {
        // h0 = 10 → 5 per qubit > 4 (2 clipped); J = 6 → 1.5 per coupler > 1 (4 clipped); chain strength 2 → −2 < −1 (2 clipped).
        var p = EmbeddedProblem.Create(Pair(10, 0, 6), TwoChains, K4, new EmbedOptions { ChainStrength = 2 });
        Assert.Equal(2, p.ClippedLinear);
        Assert.Equal(6, p.ClippedQuadratic);
        Assert.Equal(8, p.ClippedCount);
        Assert.Equal(4, Linear(p.Target, 10));
        Assert.Equal(1, Coupling(p.Target, 10, 12));
        Assert.Equal(-1, Coupling(p.Target, 10, 11));
        var noClip = EmbeddedProblem.Create(Pair(10, 0, 6), TwoChains, K4, new EmbedOptions { ChainStrength = 2, HRange = null, JRange = null });
        Assert.Equal(0, noClip.ClippedCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedProblem.Create(Pair(1, 0, 1), TwoChains, K4, new EmbedOptions { ChainStrength = -1 }));
    }

    [Fact]
    public void EmbeddedEnergyEqualsLogicalEnergyOnIntactChains()
    {
        // A 6-clique needs chains of several qubits on Pegasus; every logical state, copied onto its chains, must
        // have exactly the logical energy (intact chains add 0 thanks to the offset), for two tiled copies at once.
        var rng = new Rng(17);
        var edges = new List<(int, int)>();
        for (int i = 0; i < 6; i++) for (int k = i + 1; k < 6; k++) edges.Add((i, k));
        Bqm Random()
        {
            var b = new BqmBuilder(Vartype.Spin);
            for (int i = 0; i < 6; i++) b.AddVariable(i, rng.NextGaussian() * 0.5);
            foreach (var (i, k) in edges) b.AddInteraction(i, k, rng.NextGaussian() * 0.3);
            return b.Build();
        }
        var target = Pegasus.Create(4);
        var tiles = Tiling.Create(edges, target, 2);
        Assert.Equal(2, tiles.Count);
        var logical = new[] { Random(), Random() };
        var p = EmbeddedProblem.CreateTiled(logical, tiles, target, new EmbedOptions { HRange = null, JRange = null });
        Assert.Contains(tiles, t => t.MaxChainLength > 1);
        for (int a = 0; a < 64; a++)
        {
            var s0 = Enumerable.Range(0, 6).Select(i => (sbyte)(((a >> i) & 1) == 1 ? 1 : -1)).ToArray();
            var s1 = s0.Select(v => (sbyte)-v).ToArray();
            var q = p.EmbedState([s0, s1]);
            Assert.Equal(logical[0].Energy(s0) + logical[1].Energy(s1), p.Target.Energy(q), 9);
        }
    }

    [Fact]
    public void EmbedUnembedRoundTrip()
    {
        var p16 = Pegasus.Create(16);
        var e = BipartiteEmbedder.Find(548, 1, p16);
        var b = new BqmBuilder(Vartype.Binary);
        var rng = new Rng(3);
        for (int i = 0; i < 549; i++) b.AddVariable(i, rng.NextGaussian());
        for (int i = 0; i < 548; i++) b.AddInteraction(i, 548, rng.NextGaussian());
        var logical = b.Build();
        var p = EmbeddedProblem.Create(logical, e, p16);
        var states = new List<sbyte[]>();
        var rows = new List<sbyte>();
        for (int r = 0; r < 5; r++)
        {
            var s = Enumerable.Range(0, 549).Select(_ => (sbyte)(rng.NextInt(2) * 2 - 1)).ToArray();
            states.Add(s);
            rows.AddRange(p.EmbedState([s]));
        }
        var qubitSet = SampleSet.FromSamples(p.Target, rows.ToArray(), SampleInfo.For("test"));
        var back = p.Unembed(qubitSet);
        Assert.Equal(0, back.MeanChainBreakFraction);
        Assert.Equal(Vartype.Binary, back.Samples.Vartype);
        for (int r = 0; r < 5; r++)
        {
            var expected = states[r].Select(v => (sbyte)((v + 1) / 2)).ToArray();
            Assert.Equal(expected, back.Samples.Row(r).ToArray());
            Assert.Equal(logical.Energy(expected), back.Samples.Energies[r], 9);
        }
        Assert.Equal(0, back.Samples.Info.Properties["chain_break_fraction"]);
        Assert.Contains("549 variables", back.Samples.Info.Notes["embedding"]);
    }

    private static SampleSet QubitRows(Bqm target, params sbyte[][] rows) =>
        SampleSet.FromSamples(target, rows.SelectMany(r => r).ToArray(), SampleInfo.For("test"));

    [Fact]
    public void MajorityVoteDiscardAndWeightedRandomOnBrokenChains()
    {
        // Path target 0-1-2-3-4: variable 0 on {0,1,2}, variable 1 on {3,4}.
        var path = Graph.FromEdges([0, 1, 2, 3, 4], [(0, 1), (1, 2), (2, 3), (3, 4)]);
        var emb = new MinorEmbedding(new Dictionary<int, int[]> { [0] = [0, 1, 2], [1] = [3, 4] });
        var p = EmbeddedProblem.Create(Pair(0.1, 0.1, -0.5), emb, path, new EmbedOptions { ChainStrength = 1 });
        sbyte[] intact = [1, 1, 1, -1, -1], oneBroken = [1, 1, -1, -1, -1], twoBroken = [-1, -1, 1, 1, -1];
        var set = QubitRows(p.Target, intact, oneBroken, twoBroken);

        var mv = p.Unembed(set, options: new UnembedOptions { Ties = TieBreak.PlusOne });
        Assert.Equal(new[] { 0, 0.5, 1.0 }, mv.ChainBreakFraction);
        Assert.Equal(0.5, mv.MeanChainBreakFraction, 12);
        Assert.Equal(new sbyte[] { 1, -1 }, mv.Samples.Row(0).ToArray());
        Assert.Equal(new sbyte[] { 1, -1 }, mv.Samples.Row(1).ToArray());
        Assert.Equal(new sbyte[] { -1, 1 }, mv.Samples.Row(2).ToArray()); // tie on {3,4} goes to +1 (Ocean's rule)

        var discard = p.Unembed(set, options: new UnembedOptions { Method = ChainBreakMethod.Discard });
        Assert.Equal(1, discard.Samples.NumRows);
        Assert.Equal(2, discard.Discarded);
        Assert.Equal(2.0, discard.Samples.Info.Properties["discarded"]);

        // Statistics: a chain at (+1,+1,−1) gives +1 with probability 2/3 under weighted random; a (+1,−1) tie gives
        // +1 with probability 1/2 under the random tie rule. 4,000 rows: 5 standard errors ≈ 0.04.
        var many = QubitRows(p.Target, Enumerable.Repeat(new sbyte[] { 1, 1, -1, 1, -1 }, 4000).ToArray());
        var wr = p.Unembed(many, options: new UnembedOptions { Method = ChainBreakMethod.WeightedRandom, Seed = 5 });
        var means = wr.Samples.Means();
        Assert.InRange((means[0] + 1) / 2, 2.0 / 3 - 0.04, 2.0 / 3 + 0.04);
        Assert.InRange((means[1] + 1) / 2, 0.5 - 0.04, 0.5 + 0.04);
        var tie = p.Unembed(many, options: new UnembedOptions { Ties = TieBreak.Random, Seed = 6 }).Samples.Means();
        Assert.Equal(1.0, tie[0]);
        Assert.InRange((tie[1] + 1) / 2, 0.5 - 0.04, 0.5 + 0.04);
        Assert.Equal(1.0, p.Unembed(many, options: new UnembedOptions { Ties = TieBreak.PlusOne }).Samples.Means()[1]);
    }

    [Fact]
    public void BadInputsAreRefused()
    {
        var missingEdge = new MinorEmbedding(new Dictionary<int, int[]> { [0] = [10], [1] = [11] });
        var path = Graph.FromEdges([10, 11, 12], [(10, 12), (11, 12)]);
        var ex = Assert.Throws<EmbeddingException>(() => EmbeddedProblem.Create(Pair(0, 0, 1), missingEdge, path));
        Assert.Contains("logical edge (0,1)", ex.Message);
        var p = EmbeddedProblem.Create(Pair(0, 0, 1), TwoChains, K4);
        var partial = SampleSet.FromSamples(Bqm.FromArrays(Vartype.Spin, [0, 0], [], [], [], 0, [10, 11]), [1, 1], SampleInfo.For("t"));
        var ex2 = Assert.Throws<ArgumentException>(() => p.Unembed(partial));
        Assert.Contains("qubit 12", ex2.Message);
        Assert.Throws<EmbeddingException>(() => EmbeddedProblem.CreateTiled([Pair(0, 0, 1), Pair(0, 0, 1)], [TwoChains, TwoChains], K4));
    }
}
