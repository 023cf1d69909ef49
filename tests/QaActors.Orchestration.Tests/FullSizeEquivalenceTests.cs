using System.Diagnostics;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Training;
using QaActors.Sampling;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// At the paper's size (784-548-1), the actor path — problems built in chunks by two BQM workers, samples
/// from a pool, checkpoint per step in SQLite — gives the direct trainer's bytes. Times are printed, not asserted.
/// </summary>
public class FullSizeEquivalenceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Actor_training_at_784_548_1_equals_direct_training()
    {
        const int n = 784, trainCount = 20, testCount = 20;
        LabeledSet Make(int count, ulong salt)
        {
            var rng = new Rng(salt);
            var x = new float[count * n];
            var y = new byte[count];
            for (int i = 0; i < count; i++)
            {
                y[i] = (byte)(i % 2);
                for (int f = 0; f < n; f++) x[i * n + f] = (float)(rng.NextDouble() * (f % 2 == y[i] ? 1.0 : 0.3));
            }
            return new LabeledSet(count, n, x, y);
        }
        var train = Make(trainCount, 11);
        var test = Make(testCount, 12);
        var config = new TrainingConfig { Method = TrainingMethod.Gibbs, Hidden = 548, Batch = 5, Steps = int.TryParse(Environment.GetEnvironmentVariable("QA_FULLSIZE_STEPS"), out var st) ? st : 3, Reads = 10, Sweeps = 20, Seed = 9 };
        var samplers = QaTraining.DefaultSamplers();

        var sw = Stopwatch.StartNew();
        var direct = await DirectTrainer.RunAsync(config, train, test, TrainingSamplers.For(config));
        output.WriteLine($"direct: {sw.ElapsedMilliseconds} ms");

        using var dir = new TempDir();
        var settings = QaConfig.Load(dataDir: dir.Path, extraHocon: "qa.samplers.pool-size = 2");
        sw.Restart();
        await using var qa = await QaActorSystem.StartAsync(settings,
            new QaServices { ProcedureFor = _ => new LearningProcedure(config, train, test), ClassicalSamplers = samplers });
        output.WriteLine($"actor system up: {sw.ElapsedMilliseconds} ms");
        sw.Restart();
        var spec = LearningProcedure.Spec("full-size", config, new PairTaskRef("synthetic", 0, 1, "20", "20", 9, null), "gibbs", "tester");
        var result = await new ExperimentRunner(qa).RunAsync(spec);
        output.WriteLine($"actors: {sw.ElapsedMilliseconds} ms for {config.Steps} steps (incl. first-use costs)");

        Assert.Equal(direct.State.ToBytes(), ((TrainerState)result.FinalState).ToBytes());
        Assert.Equal(direct.History, LearningProcedure.ToTrainingResult(result).History);
    }
}
