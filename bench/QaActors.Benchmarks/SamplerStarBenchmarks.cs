using BenchmarkDotNet.Attributes;
using QaActors.Sampling;

namespace QaActors.Benchmarks;

/// <summary>The classical samplers on the 549-spin star (100 reads × 1000 sweeps, one thread); the exact sampler on 20 spins.</summary>
[MemoryDiagnoser]
public class SamplerStarBenchmarks
{
    private Bqm _star = null!;
    private Bqm _dense20 = null!;
    private GibbsSampler _gibbs = null!;
    private AnnealSampler _anneal = null!;

    [GlobalSetup]
    public void Setup()
    {
        _star = StarProblem.Create(549);
        _gibbs = new GibbsSampler(new GibbsOptions(Sweeps: 1000));
        _anneal = new AnnealSampler(new AnnealOptions(1000, (0.1, 3.0), AnnealSchedule.Geometric));
        var b = new BqmBuilder(Vartype.Spin);
        var rng = new Rng(7);
        for (int i = 0; i < 20; i++) b.AddVariable(i, rng.NextDouble() - 0.5);
        for (int i = 0; i < 20; i++)
            for (int j = i + 1; j < 20; j++) b.AddInteraction(i, j, rng.NextDouble() - 0.5);
        _dense20 = b.Build();
    }

    [Benchmark(Description = "gibbs star 549, 100x1000 sweeps, beta 0.1")]
    public SampleSet GibbsStar() => _gibbs.SampleAsync(_star, new SampleRequest(100, 0.1, 1)).GetAwaiter().GetResult();

    [Benchmark(Description = "anneal star 549, 100x1000 sweeps, beta 0.1..3 geometric")]
    public SampleSet AnnealStar() => _anneal.SampleAsync(_star, new SampleRequest(100, 1, 1)).GetAwaiter().GetResult();

    [Benchmark(Description = "exact 20 dense spins, 1000 reads")]
    public SampleSet Exact20() => new ExactSampler().SampleAsync(_dense20, new SampleRequest(1000, 1, 1)).GetAwaiter().GetResult();
}
