using System.Diagnostics;
using System.Runtime.CompilerServices;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Sampling;

namespace QaActors.Benchmarks;

/// <summary>
/// Wall time of the full equivalence experiment (250 steps, batch 1000, 784-548-1, both models, test metrics every
/// 10 steps) on a synthetic pair of the real task's size (12,000 train, 2,000 test images, 28×28 with a blank
/// border and about half the remaining pixels dark, like Fashion-MNIST). Args: `quick equivalence_synthetic [steps]`.
/// </summary>
public static class EquivalenceRun
{
    [ModuleInitializer]
    internal static void Register()
    {
        // Quick treats every argument as a kernel name, so the step count comes from QA_EQ_STEPS.
        Quick.Add("equivalence_synthetic", _ => Run(int.TryParse(Environment.GetEnvironmentVariable("QA_EQ_STEPS"), out int s) ? s : 250));
        Quick.Add("equivalence_profile", _ => Profile(10));
        Quick.Add("sec52_mnist01", _ => string.Join(Environment.NewLine,
            new[] { TrainingMethod.Backprop, TrainingMethod.Gibbs, TrainingMethod.Exact }.SelectMany(m =>
                new ulong[] { 1, 2, 3 }.Select(seed => Sec52("mnist", "0,1", m, seed)))));
        // The real run: QA_EQ_DATASET (default fashion-mnist) and QA_EQ_CLASSES (default 2,3), all images of the pair.
        Quick.Add("equivalence_real", _ => RunReal(
            Environment.GetEnvironmentVariable("QA_EQ_DATASET") ?? "fashion-mnist",
            Environment.GetEnvironmentVariable("QA_EQ_CLASSES") ?? "2,3",
            int.TryParse(Environment.GetEnvironmentVariable("QA_EQ_STEPS"), out int st) ? st : 250));
    }

    /// <summary>Time of each piece of one equivalence step (averaged over a few steps), to see where the budget goes.</summary>
    public static string Profile(int steps)
    {
        var train = SyntheticPair(12000, 1);
        var test = SyntheticPair(2000, 2);
        var mlp = MlpParameters.InitMlp(784, 548, 1, 1);
        var ebm = MlpParameters.InitEbm(784, 548, 1, 1);
        var g = mlp.ZerosLike();
        var am = new Adam(mlp, 0.001);
        var a = new float[1000 * 548];
        var t = new Dictionary<string, double>();
        var process = System.Diagnostics.Process.GetCurrentProcess();
        // Process CPU time (both cores summed) rather than wall time: on a shared machine it is far less noisy.
        void Time(string key, Action act) { process.Refresh(); var c0 = process.TotalProcessorTime; act(); process.Refresh(); t[key] = t.GetValueOrDefault(key) + (process.TotalProcessorTime - c0).TotalMilliseconds; }
        var cpu0 = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        for (int s = 0; s < steps + 3; s++)
        {
            if (s == 3) t.Clear(); // the first steps run while the JIT is still tiering up
            LabeledSet batch = train;
            Time("indices", () => BatchSchedule.Indices(1, s, train.Count, 1000));
            Time("take", () => batch = train.Take(BatchSchedule.Indices(1, s, train.Count, 1000)));
            Time("forward_gemm", () => Numerics.HiddenPreActivation(mlp, batch.X, 1000, a));
            Time("grad_gemm", () => Gemm.Multiply(548, 784, 1000, a, 548, true, batch.X, 784, false, g.W1, 784, false));
            Time("mlp_gradient", () => Mlp.Gradient(mlp, batch.X, batch.Y, 1000, g));
            Time("ebm_gradient", () => Ebm.ExactGradient(ebm, batch.X, batch.Y, 1000, g));
            Time("adam", () => am.Step(mlp, g));
        }
        Metrics.Evaluate(mlp, test);
        var a2 = new float[2000 * 548];
        for (int r = 0; r < 5; r++)
        {
            Time("evaluate", () => Metrics.Evaluate(mlp, test));
            Time("eval_gemm", () => Numerics.HiddenPreActivation(mlp, test.X, 2000, a2));
        }
        double w = wall.Elapsed.TotalSeconds, cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
        return "equivalence_profile cpu_ms_per_step: " + string.Join(" ", t.Select(kv => $"{kv.Key}={kv.Value / (kv.Key.StartsWith("eval") ? 5 : steps):F2}"))
            + $" cpu_over_wall={cpu / w:F2}";
    }

    public static LabeledSet SyntheticPair(int rows, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[rows * 784];
        var y = new byte[rows];
        for (int r = 0; r < rows; r++)
        {
            y[r] = (byte)(r % 2);
            for (int i = 0; i < 784; i++)
            {
                int row = i / 28, col = i % 28;
                if (row < 2 || row >= 26 || col < 3 || col >= 25) continue;
                bool lit = y[r] == 0 ? col < 14 + row / 4 : row > 8;
                double on = lit ? 0.7 : 0.35;
                if (rng.NextDouble() < on) x[r * 784 + i] = (float)(0.3 + 0.7 * rng.NextDouble());
            }
        }
        return new LabeledSet(rows, 784, x, y);
    }

    /// <summary>Sec. 5.2 settings (20 balanced training images, batch 5, lr 0.1, 20 steps, t_eff 1) for one method.</summary>
    public static string Sec52(string dataset, string classes, TrainingMethod method, ulong seed)
    {
        var parts = classes.Split(',');
        int a = int.Parse(parts[0]), b = int.Parse(parts[1]);
        var task = PairTask.Load(DatasetSpec.Parse(dataset), a, b, DataSize.Of(20), DataSize.All, seed);
        var config = new TrainingConfig { Method = method, Seed = seed, Dataset = dataset, ClassA = a, ClassB = b };
        ISampler? sampler = method switch
        {
            TrainingMethod.Gibbs => new GibbsSampler(),
            TrainingMethod.Anneal => new AnnealSampler(),
            _ => null,
        };
        var sw = Stopwatch.StartNew();
        var r = DirectTrainer.Run(config, task, sampler);
        return $"sec52 {dataset} {classes} {method.ToWire()} seed={seed} wall_s={sw.Elapsed.TotalSeconds:F2} test_acc={r.Final.TestAccuracy:F4} ebm_acc={r.Final.EbmTestAccuracy:F4} steps_to_70={r.StepsTo70?.ToString() ?? "never"} success={r.Success}";
    }

    public static string RunReal(string dataset, string classes, int steps)
    {
        var parts = classes.Split(',');
        var task = PairTask.Load(DatasetSpec.Parse(dataset), int.Parse(parts[0]), int.Parse(parts[1]), DataSize.All, DataSize.All, 1);
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var result = Equivalence.Run(task, new EquivalenceConfig { Steps = steps });
        double secs = sw.Elapsed.TotalSeconds;
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
        var f = result.Final;
        return $"equivalence_real {dataset} {classes} train={task.Train.Count} test={task.Test.Count} steps={steps} wall_s={secs:F2} cpu_s={cpu:F2} "
            + $"mlp_acc={f.MlpTestAccuracy:F4} ebm_acc={f.EbmTestAccuracy:F4} mlp_ebmw_acc={f.MlpWithEbmWeightsAccuracy:F4} ebm_mlpw_acc={f.EbmWithMlpWeightsAccuracy:F4} sym_kl={f.SymKl:G4} sym_kl_ebm={f.SymKlEbm:G4}";
    }

    public static string Run(int steps)
    {
        var train = SyntheticPair(12000, 1);
        var test = SyntheticPair(2000, 2);
        var sw = Stopwatch.StartNew();
        var result = Equivalence.Run(train, test, new EquivalenceConfig { Steps = steps });
        double secs = sw.Elapsed.TotalSeconds;
        var f = result.Final;
        return $"equivalence_synthetic steps={steps} batch=1000 wall_s={secs:F2} mlp_acc={f.MlpTestAccuracy:F4} ebm_acc={f.EbmTestAccuracy:F4} mlp_ebmw_acc={f.MlpWithEbmWeightsAccuracy:F4} ebm_mlpw_acc={f.EbmWithMlpWeightsAccuracy:F4} sym_kl={f.SymKl:G4}";
    }
}
