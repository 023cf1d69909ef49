using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Orchestration;
using QaActors.Orchestration.Training;

namespace QaActors.Benchmarks;

/// <summary>
/// Issue 4's overhead as a BenchmarkDotNet suite: the paper's Sec. 5.2 Classical-2 run (mnist 0,1, 20 images, batch 5,
/// lr 0.1, 20 steps, 100 reads of 1,000 sweeps) called directly on the science library (the baseline) and through
/// the actor system on a running one-node cluster, every step persisted to SQLite, each invocation a new experiment.
/// A run takes about a second, so each iteration is one run (monitoring strategy) after warm-up runs that let the JIT
/// tier up the actor path. BenchmarkDotNet reports the ratio against the baseline. The node starts only for the actor
/// benchmark. `quick train_overhead` measures the same by alternating the two in one process.
/// Run: `dotnet run -c Release --project bench/QaActors.Benchmarks -- --filter '*TrainOverhead*'`.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 10, iterationCount: 15)]
public class TrainOverheadBenchmarks
{
    private PairTask _task = null!;
    private PairTaskRef _taskRef = null!;
    private TrainingConfig _config = null!;
    private string _dir = null!;
    private QaActorSystem? _node;
    private ExperimentRunner? _runner;
    private int _runs;

    private void Load() => (_task, _taskRef, _config) = TrainOverhead.Sec52(steps: 20);

    [GlobalSetup(Target = nameof(Direct))]
    public void SetupDirect() => Load();

    [GlobalSetup(Target = nameof(Actors))]
    public void SetupActors()
    {
        Load();
        _dir = Path.Combine(Path.GetTempPath(), "qa-overhead-bdn-" + Guid.NewGuid().ToString("N")[..8]);
        _node = TrainOverhead.StartNode(_dir, _task, _taskRef, _config).GetAwaiter().GetResult();
        _runner = new ExperimentRunner(_node);
    }

    [GlobalCleanup(Target = nameof(Actors))]
    public void CleanupActors()
    {
        _node?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "Sec. 5.2 gibbs run, direct on the science library")]
    public TrainingResult Direct() =>
        DirectTrainer.RunAsync(_config, _task.Train, _task.Test, TrainingSamplers.For(_config)).GetAwaiter().GetResult();

    [Benchmark(Description = "Sec. 5.2 gibbs run, through the actors (persisted)")]
    public ExperimentResult Actors() =>
        _runner!.RunAsync(LearningProcedure.Spec($"overhead-bdn-{++_runs}", _config, _taskRef, "gibbs", "bench")).GetAwaiter().GetResult();
}
