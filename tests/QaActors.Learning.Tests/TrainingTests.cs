using QaActors.Data;
using QaActors.Learning;
using QaActors.Sampling;

namespace QaActors.Learning.Tests;

public class TrainingTests
{
    /// <summary>Two classes of 16-pixel "images": class 0 bright on the left half, class 1 on the right, with noise.</summary>
    internal static LabeledSet Separable(int rows, ulong seed)
    {
        var rng = new Rng(seed);
        const int n = 16;
        var x = new float[rows * n];
        var y = new byte[rows];
        for (int r = 0; r < rows; r++)
        {
            y[r] = (byte)(r % 2);
            for (int i = 0; i < n; i++)
            {
                bool bright = (i < n / 2) == (y[r] == 0);
                double v = bright ? 0.4 + 0.6 * rng.NextDouble() : 0.5 * rng.NextDouble();
                x[r * n + i] = rng.NextDouble() < 0.2 ? 0f : (float)v;
            }
        }
        return new LabeledSet(rows, n, x, y);
    }

    private static TrainingConfig Small(TrainingMethod method) => new()
    {
        Method = method, Hidden = 8, Batch = 5, LearningRate = 0.1, Steps = 30, Seed = 3, Reads = 50,
    };

    [Theory]
    [InlineData(TrainingMethod.Backprop)]
    [InlineData(TrainingMethod.Exact)]
    [InlineData(TrainingMethod.Gibbs)]
    public void LearnsASeparableTask(TrainingMethod method)
    {
        var train = Separable(40, 1);
        var test = Separable(200, 2);
        var steps = new List<StepMetrics>();
        var sampler = method.NeedsSampler() ? new EnumeratingSampler() : null;
        var result = DirectTrainer.Run(Small(method), train, test, sampler, steps.Add);
        Assert.Equal(31, result.History.Count);
        Assert.Equal(steps, result.History);
        Assert.Equal(0, result.History[0].Step);
        Assert.True(result.Final.TestAccuracy >= 0.95, $"{method}: final MLP test accuracy {result.Final.TestAccuracy}");
        Assert.True(result.Final.EbmTestAccuracy >= 0.95, $"{method}: final EBM test accuracy {result.Final.EbmTestAccuracy}");
        Assert.True(result.Success);
        Assert.NotNull(result.StepsTo70);
        if (sampler != null)
        {
            Assert.Equal(30 * 5, sampler.Calls);
            Assert.Equal(30 * 5, result.SamplerTotals["sample_time"]);
        }
    }

    [Fact]
    public void MetricsAreRecordedAtStepZeroEveryEvalEveryAndAtTheEnd()
    {
        var r = DirectTrainer.Run(Small(TrainingMethod.Exact) with { Steps = 7, EvalEvery = 3 }, Separable(20, 1), Separable(20, 2));
        Assert.Equal(new[] { 0, 3, 6, 7 }, r.History.Select(h => h.Step));
        Assert.Equal(7, r.State.Step);
        Assert.Equal(7, r.State.Adam.T);
    }

    [Fact]
    public void SampledRunsAreReproducible()
    {
        var train = Separable(20, 5);
        var test = Separable(50, 6);
        var cfg = Small(TrainingMethod.Anneal) with { Steps = 6 };
        var r1 = DirectTrainer.Run(cfg, train, test, new EnumeratingSampler());
        var r2 = DirectTrainer.Run(cfg, train, test, new EnumeratingSampler());
        Assert.True(r1.Parameters.BitwiseEquals(r2.Parameters));
        var r3 = DirectTrainer.Run(cfg with { Seed = 4 }, train, test, new EnumeratingSampler());
        Assert.False(r1.Parameters.BitwiseEquals(r3.Parameters));
    }

    [Fact]
    public async Task CheckpointRoundTripsAndResumesBitExactly()
    {
        var train = Separable(30, 7);
        var test = Separable(40, 8);
        var cfg = Small(TrainingMethod.Gibbs) with { Steps = 8 };
        var whole = DirectTrainer.Run(cfg, train, test, new EnumeratingSampler());

        var half = DirectTrainer.Run(cfg with { Steps = 4 }, train, test, new EnumeratingSampler());
        var bytes = half.State.ToBytes();
        var restored = TrainerState.FromBytes(bytes);
        Assert.Equal(bytes, restored.ToBytes());
        Assert.Equal(TrainerState.CurrentVersion, restored.Version);
        Assert.True(restored.Parameters.BitwiseEquals(half.Parameters));
        Assert.Equal(4, restored.Step);
        Assert.Equal(half.History, restored.History);

        var resumedState = new TrainerState(cfg, restored.Parameters, restored.Adam, restored.Step, restored.History);
        var resumed = await DirectTrainer.ResumeAsync(resumedState, train, test, new EnumeratingSampler());
        Assert.True(resumed.Parameters.BitwiseEquals(whole.Parameters));
        Assert.Equal(whole.History, resumed.History);
    }

    [Fact]
    public void CorruptCheckpointsAreRejectedClearly()
    {
        var state = TrainerState.Create(Small(TrainingMethod.Exact), 16);
        var bytes = state.ToBytes();
        Assert.Contains("QATS", Assert.Throws<InvalidDataException>(() => TrainerState.FromBytes(new byte[10])).Message);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => TrainerState.FromBytes(bytes[..^30])).Message);
        var v2 = (byte[])bytes.Clone();
        v2[4] = 2;
        Assert.Contains("version 2", Assert.Throws<InvalidDataException>(() => TrainerState.FromBytes(v2)).Message);
    }

    [Fact]
    public void BatchScheduleIsDeterministicAndCoversEachEpoch()
    {
        Assert.Equal(BatchSchedule.Indices(9, 3, 100, 7), BatchSchedule.Indices(9, 3, 100, 7));
        Assert.NotEqual(BatchSchedule.Indices(9, 3, 100, 7), BatchSchedule.Indices(10, 3, 100, 7));
        // Steps 0..4 of batch 20 over 100 examples are one epoch: every index exactly once.
        var epoch = Enumerable.Range(0, 5).SelectMany(s => BatchSchedule.Indices(9, s, 100, 20)).OrderBy(i => i);
        Assert.Equal(Enumerable.Range(0, 100), epoch);
        // A batch larger than the set spans epochs and still lists valid indices.
        var big = BatchSchedule.Indices(9, 1, 7, 20);
        Assert.Equal(20, big.Length);
        Assert.All(big, i => Assert.InRange(i, 0, 6));
        Assert.Throws<ArgumentException>(() => BatchSchedule.Indices(1, 0, 0, 5));
    }

    [Fact]
    public void StepPlanSeedsFollowTheSeedPolicy()
    {
        var train = Separable(10, 1);
        var cfg = Small(TrainingMethod.Gibbs);
        var plan = StepPlan.Create(cfg, train, 2);
        Assert.Equal(SeedPolicy.Derive(3, 2, 4, SeedPolicy.Purpose.Sample), plan.Request(cfg, 4).Seed);
        Assert.Equal(5, plan.BuildProblems(MlpParameters.InitEbm(16, 8, 1, 1)).Length);
    }

    [Fact]
    public void SamplerMethodsWithoutASamplerAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => DirectTrainer.Run(Small(TrainingMethod.Gibbs), Separable(10, 1), Separable(10, 2)));
        Assert.Contains("needs a sampler", e.Message);
    }

    [Fact]
    public void EquivalenceTrainsBothModelsToTheSameFunction()
    {
        var train = Separable(400, 11);
        var test = Separable(200, 12);
        var points = new List<EquivalencePoint>();
        var r = Equivalence.Run(train, test, new EquivalenceConfig { Steps = 60, Batch = 100, LearningRate = 0.01, EvalEvery = 20, Hidden = 16, Seed = 2 }, points.Add);
        Assert.Equal(new[] { 0, 20, 40, 60 }, points.Select(p => p.Step));
        var f = r.Final;
        Assert.True(f.MlpTestAccuracy >= 0.97 && f.EbmTestAccuracy >= 0.97, $"accuracies {f.MlpTestAccuracy} {f.EbmTestAccuracy}");
        Assert.True(f.MlpWithEbmWeightsAccuracy >= 0.97 && f.EbmWithMlpWeightsAccuracy >= 0.9, $"cross accuracies {f.MlpWithEbmWeightsAccuracy} {f.EbmWithMlpWeightsAccuracy}");
        Assert.True(f.SymKl < points[0].SymKl, $"sym_kl {f.SymKl} did not fall from {points[0].SymKl}");
    }
}
