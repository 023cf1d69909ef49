using BenchmarkDotNet.Attributes;
using QaActors.DWave.Embedding;
using QaActors.DWave.Topology;
using QaActors.Sampling;

namespace QaActors.Benchmarks;

/// <summary>Embedding the 549-variable star on P16 (ideal and 2 % dead), and embedding/unembedding a problem on it.</summary>
[MemoryDiagnoser]
public class EmbeddingBenchmarks
{
    private Graph _p16 = null!, _working = null!;
    private EmbeddedProblem _problem = null!;
    private SampleSet _qubitSamples = null!;

    [GlobalSetup]
    public void Setup()
    {
        _p16 = Pegasus.Create(16);
        _working = _p16.WithoutNodes(HardwareGraph.RandomDeadQubits(_p16, 0.02, 2026));
        var e = BipartiteEmbedder.Find(548, 1, _p16);
        var b = new BqmBuilder(Vartype.Spin);
        var rng = new Rng(1);
        for (int i = 0; i <= 548; i++) b.AddVariable(i, 0.1 * rng.NextGaussian());
        for (int i = 0; i < 548; i++) b.AddInteraction(i, 548, 0.1 * rng.NextGaussian());
        _problem = EmbeddedProblem.Create(b.Build(), e, _p16);
        int n = _problem.Target.NumVariables, reads = 1000;
        var s = new sbyte[reads * n];
        for (int k = 0; k < s.Length; k++) s[k] = (sbyte)(rng.NextInt(2) * 2 - 1);
        _qubitSamples = SampleSet.FromSamples(_problem.Target, s, SampleInfo.For("bench"));
    }

    [Benchmark]
    public MinorEmbedding EmbedStarP16() => BipartiteEmbedder.Find(548, 1, _p16);

    [Benchmark]
    public MinorEmbedding EmbedStarP16Dead2Percent() => BipartiteEmbedder.Find(548, 1, _working);

    [Benchmark]
    public UnembedResult Unembed1000Reads() => _problem.Unembed(_qubitSamples);
}
