using System.Diagnostics;
using System.Runtime.CompilerServices;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Orchestration;
using QaActors.Orchestration.Training;

namespace QaActors.Benchmarks;

/// <summary>
/// Issue 4's overhead figure on a running node: the paper's Sec. 5.2 Classical-2 run (mnist 0,1, 20 images, batch 5,
/// lr 0.1, 20 steps, 100 reads of 1,000 sweeps) through the actor system — trainer, BQM workers, Gibbs pool, aggregator,
/// every step persisted to the default SQLite journal — against the same run called directly on the science library
/// (<see cref="DirectTrainer"/>), in one process, alternated, after warm-up runs of each: the JIT compiles and tiers
/// up the actor path (Akka, the SQL journal) over several runs, as it does once on a campaign's node. Each actor run is
/// a new experiment. The node is started once, as a campaign's node is; its boot and leave are timed apart (the
/// per-process figure is bench/overhead.sh). Prints each run's wall time, the medians and their ratio, and fails if
/// the two engines' final parameters differ in any bit. Args: `quick train_overhead`; QA_OVERHEAD_RUNS (default 7),
/// QA_OVERHEAD_STEPS (default 20), QA_OVERHEAD_WARMUP (default 6), QA_OVERHEAD_HOCON (extra HOCON for the node).
/// </summary>
public static class TrainOverhead
{
    [ModuleInitializer]
    internal static void Register() => Quick.Add("train_overhead", _ => Run(
        int.TryParse(Environment.GetEnvironmentVariable("QA_OVERHEAD_RUNS"), out int n) ? n : 7,
        int.TryParse(Environment.GetEnvironmentVariable("QA_OVERHEAD_STEPS"), out int s) ? s : 20,
        int.TryParse(Environment.GetEnvironmentVariable("QA_OVERHEAD_WARMUP"), out int w) ? w : 6).GetAwaiter().GetResult());

    /// <summary>The measured run: the paper's Sec. 5.2 Classical-2 setting (also <see cref="TrainOverheadBenchmarks"/>'s).</summary>
    internal static (PairTask Task, PairTaskRef TaskRef, TrainingConfig Config) Sec52(int steps)
    {
        var task = PairTask.Load(DatasetSpec.Parse("mnist"), 0, 1, DataSize.Of(20), DataSize.All, 1);
        var config = new TrainingConfig
        {
            Method = TrainingMethod.Gibbs, Batch = 5, LearningRate = 0.1, Steps = steps, Reads = 100, Sweeps = 1000, Seed = 1,
            Dataset = "mnist", ClassA = 0, ClassB = 1, TrainSize = task.Train.Count, TestSize = task.Test.Count,
        };
        return (task, new PairTaskRef("mnist", 0, 1, "20", "all", 1, null), config);
    }

    /// <summary>A one-node actor system with its SQLite journal in <paramref name="dir"/>, serving that run.</summary>
    internal static Task<QaActorSystem> StartNode(string dir, PairTask task, PairTaskRef taskRef, TrainingConfig config, string? extraHocon = null) =>
        QaActorSystem.StartAsync(QaTraining.Settings(new RunOptions { DataDir = dir, ExtraHocon = "akka.loglevel = ERROR\n" + extraHocon }), new QaServices
        {
            ProcedureFor = LearningProcedure.Factory(taskRef, task),
            ClassicalSamplers = QaTraining.DefaultSamplers(),
        });

    public static async Task<string> Run(int runs, int steps, int warmup)
    {
        var (task, taskRef, config) = Sec52(steps);
        string dir = Path.Combine(Path.GetTempPath(), "qa-overhead-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var boot = Stopwatch.StartNew();
            var qa = await StartNode(dir, task, taskRef, config, Environment.GetEnvironmentVariable("QA_OVERHEAD_HOCON"));
            double bootS = boot.Elapsed.TotalSeconds;
            bool left = false;
            try
            {
                var runner = new ExperimentRunner(qa);
                var direct = new List<double>();
                var actors = new List<double>();
                var directCpu = new List<double>();
                var actorsCpu = new List<double>();
                var me = Process.GetCurrentProcess();
                double Cpu() { me.Refresh(); return me.TotalProcessorTime.TotalSeconds; }
                for (int i = 0; i < warmup + runs; i++)
                {
                    long j0 = System.Runtime.JitInfo.GetCompiledMethodCount();
                    int g0 = GC.CollectionCount(2), f0 = GC.CollectionCount(0);
                    double c0 = Cpu();
                    var sw = Stopwatch.StartNew();
                    var d = await DirectTrainer.RunAsync(config, task.Train, task.Test, TrainingSamplers.For(config));
                    double td = sw.Elapsed.TotalSeconds;
                    double c1 = Cpu();
                    long j1 = System.Runtime.JitInfo.GetCompiledMethodCount();
                    int g1 = GC.CollectionCount(2), f1 = GC.CollectionCount(0);
                    sw.Restart();
                    var id = $"overhead-{i}-{Guid.NewGuid():N}"[..24];
                    var r = await runner.RunAsync(LearningProcedure.Spec(id, config, taskRef, "gibbs", "bench"));
                    double ta = sw.Elapsed.TotalSeconds;
                    double c2 = Cpu();
                    long j2 = System.Runtime.JitInfo.GetCompiledMethodCount();
                    int g2 = GC.CollectionCount(2), f2 = GC.CollectionCount(0);
                    Console.Error.WriteLine($"run {i}{(i < warmup ? " (warm-up)" : "")}: direct {td:F3} s, actors {ta:F3} s; methods jit-compiled during the run: direct {j1 - j0}, actors {j2 - j1}; "
                        + $"collections gen0/gen2: direct {f1 - f0}/{g1 - g0}, actors {f2 - f1}/{g2 - g1}");
                    var a = LearningProcedure.ToTrainingResult(r);
                    if (!d.State.ToBytes().AsSpan().SequenceEqual(a.State.ToBytes()))
                        throw new InvalidOperationException($"run {i}: the actor run's final state differs from the direct run's");
                    if (i < warmup) continue; // warm-up: the JIT compiles and tiers up both paths (the actor path has far more code)
                    direct.Add(td);
                    actors.Add(ta);
                    directCpu.Add(c1 - c0);
                    actorsCpu.Add(c2 - c1);
                }
                // CPU the idle node takes (gossip, heartbeats, dispatcher threads): whatever it takes, the samplers lose.
                double idleCpu0 = Cpu();
                await Task.Delay(3000);
                double idleCpuShare = (Cpu() - idleCpu0) / 3.0;
                var leave = Stopwatch.StartNew();
                left = true;
                await qa.DisposeAsync();
                double leaveS = leave.Elapsed.TotalSeconds;
                double md = Median(direct), ma = Median(actors);
                return $"train_overhead steps={steps} runs={runs} direct_s=[{string.Join(' ', direct.Select(x => x.ToString("F3")))}] "
                    + $"actors_s=[{string.Join(' ', actors.Select(x => x.ToString("F3")))}] median_direct_s={md:F3} median_actors_s={ma:F3} "
                    + $"ratio={ma / md:F3} (target <= 1.15) cpu_s direct {Median(directCpu):F3} actors {Median(actorsCpu):F3} node_boot_s={bootS:F2} node_leave_s={leaveS:F2} idle_node_cpu={idleCpuShare:P1} final_states_identical=true";
            }
            finally
            {
                if (!left) await qa.DisposeAsync();
            }
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static double Median(List<double> xs)
    {
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
