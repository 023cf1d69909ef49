using Akka.Actor;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Training;
using QaActors.Sampling;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// The real thing end to end: one-node cluster, sharded trainer, SQLite journal on disk, the science
/// library's training. A run stopped part-way and continued in a new actor system ends with the same
/// bytes as the direct (actor-free) trainer.
/// </summary>
public class ClusterEndToEndTests(ITestOutputHelper output)
{
    private static (LabeledSet Train, LabeledSet Test) Synthetic(int n, int trainCount, int testCount)
    {
        LabeledSet Make(int count, ulong salt)
        {
            var rng = new Rng(1000 + salt);
            var x = new float[count * n];
            var y = new byte[count];
            for (int i = 0; i < count; i++)
            {
                y[i] = (byte)(i % 2);
                for (int f = 0; f < n; f++)
                    x[i * n + f] = (float)Math.Clamp(rng.NextDouble() * 0.5 + (f < n / 2 == (y[i] == 1) ? 0.5 : 0), 0, 1);
            }
            return new LabeledSet(count, n, x, y);
        }
        return (Make(trainCount, 1), Make(testCount, 2));
    }

    // Steps of a few ms: the pause below is sent when step 1 is reported, and must reach the trainer before step 3 ends
    // (with microsecond steps the run was past step 3 first, now and then).
    private static readonly TrainingConfig Config = new()
    {
        Method = TrainingMethod.Gibbs, Hidden = 64, Batch = 5, LearningRate = 0.05, Steps = 8, Reads = 100, Sweeps = 2000, Seed = 5,
    };

    [Fact]
    public async Task Stopped_and_continued_run_equals_the_direct_trainer_bit_for_bit()
    {
        var (train, test) = Synthetic(12, 20, 10);
        var samplers = QaTraining.DefaultSamplers();
        var direct = await DirectTrainer.RunAsync(Config, train, test, TrainingSamplers.For(Config));

        using var dir = new TempDir();
        var settings = QaConfig.Load(dataDir: dir.Path, extraHocon: "qa.samplers.pool-size = 2\nqa.persistence.snapshot-every = 3");
        var services = new QaServices { ProcedureFor = _ => new LearningProcedure(Config, train, test), ClassicalSamplers = samplers };
        var taskRef = new PairTaskRef("synthetic", 0, 1, "20", "10", Config.Seed, null);
        string id = ExperimentRunner.ExperimentIdFor(Path.Combine(dir.Path, "run-out"));
        Assert.Equal(id, ExperimentRunner.ExperimentIdFor(Path.Combine(dir.Path, "run-out")));
        var spec = LearningProcedure.Spec(id, Config, taskRef, "gibbs", "tester");

        long stoppedAt;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var qa1 = await QaActorSystem.StartAsync(settings, services);
        output.WriteLine($"start: {sw.ElapsedMilliseconds} ms");
        {
            // Stop after step 3 is persisted (as a kill at a step boundary would leave it).
            sw.Restart();
            await qa1.Registry.Ask<RegisteredExperiments>(new ListRegisteredExperiments(), TimeSpan.FromSeconds(20));
            output.WriteLine($"registry answered after {sw.ElapsedMilliseconds} ms");
            await Assert.ThrowsAsync<KeyNotFoundException>(() => new ExperimentRunner(qa1).ShowAsync("nobody"));
            output.WriteLine($"trainer region answered after {sw.ElapsedMilliseconds} ms");
            sw.Restart();
            var progress = new Inline<StepReport>(r => { if (r.Step == 1) output.WriteLine($"first step after {sw.ElapsedMilliseconds} ms"); if (r.Step == 1) qa1.Trainers.Tell(new PauseExperiment(id, AfterStep: 3), Akka.Actor.ActorRefs.NoSender); });
            var stopped = await Assert.ThrowsAsync<ExperimentFailedException>(() => new ExperimentRunner(qa1).RunAsync(spec, progress));
            Assert.Equal("paused", stopped.Reason);
            var s = await new ExperimentRunner(qa1).ShowAsync(id);
            Assert.False(s.Running);
            stoppedAt = s.LastStep;
            Assert.Equal(3, stoppedAt);
        }
        sw.Restart();
        await qa1.DisposeAsync();
        output.WriteLine($"shutdown: {sw.ElapsedMilliseconds} ms");
        output.WriteLine($"first system stopped after step {stoppedAt}");

        await using var qa2 = await QaActorSystem.StartAsync(settings, services);
        var runner = new ExperimentRunner(qa2);
        var steps = new List<long>();
        var result = await runner.RunAsync(spec, new Inline<StepReport>(r => steps.Add(r.Step)));
        Assert.Equal(stoppedAt, result.ResumedFromStep);
        Assert.Equal(Enumerable.Range((int)stoppedAt + 1, Config.Steps - (int)stoppedAt).Select(i => (long)i), steps);
        Assert.Equal(direct.State.ToBytes(), ((TrainerState)result.FinalState).ToBytes());
        var lib = LearningProcedure.ToTrainingResult(result);
        Assert.Equal(direct.History, lib.History);
        Assert.Equal(Config.Steps * Config.Batch, result.Provenance.SamplerCounts["gibbs"]);

        // The finished experiment's trainer leaves memory (a campaign node would otherwise keep every experiment's state).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var state = await qa2.Trainers.Ask<Akka.Cluster.Sharding.CurrentShardRegionState>(
                Akka.Cluster.Sharding.GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
            if (!state.Shards.Any(s => s.EntityIds.Contains(id))) break;
            Assert.True(DateTime.UtcNow < deadline, $"the trainer of '{id}' is still running after its experiment ended");
            await Task.Delay(50);
        }

        var list = await runner.ListAsync();
        Assert.Equal(id, Assert.Single(list).Spec.ExperimentId);
        Assert.True(list[0].Completed);
        var quota = await runner.QuotaSetAsync("tester", 12.5);
        Assert.Equal(12.5, quota.Accounts[0].LimitSeconds);
    }

    /// <summary>Progress that runs its callback synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Inline<T>(Action<T> a) : IProgress<T>
    {
        public void Report(T value) => a(value);
    }
}
