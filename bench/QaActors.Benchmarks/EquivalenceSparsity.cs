using System.Runtime.CompilerServices;
using QaActors.Data;
using QaActors.Learning;

namespace QaActors.Benchmarks;

/// <summary>How much of the two training GEMMs the zero-skipping can drop on a real pair (QA_EQ_DATASET, QA_EQ_CLASSES).</summary>
public static class EquivalenceSparsity
{
    [ModuleInitializer]
    internal static void Register()
    {
        Quick.Add("gradient_ab", _ => GradientAb());
        Quick.Add("equivalence_sparsity", _ => Sparsity());
    }

    /// <summary>dW1 = Dᵀ·X directly versus (Xᵀ·D)ᵀ on a real batch, alternating, in process CPU time.</summary>
    public static string GradientAb()
    {
        var task = PairTask.Load(DatasetSpec.FashionMnist, 2, 3, DataSize.All, DataSize.All, 1);
        var x = task.Train.Take(BatchSchedule.Indices(1, 0, task.Train.Count, 1000));
        const int k = 548, n = 784, rows = 1000;
        var rng = new QaActors.Sampling.Rng(3);
        var d = new float[rows * k];
        for (int i = 0; i < d.Length; i++) d[i] = (float)rng.NextGaussian();
        var g = new float[k * n];
        var proc = System.Diagnostics.Process.GetCurrentProcess();
        double Cpu(Action a) { proc.Refresh(); var c = proc.TotalProcessorTime; a(); proc.Refresh(); return (proc.TotalProcessorTime - c).TotalMilliseconds; }
        double direct = 0, transposed = 0;
        for (int r = 0; r < 23; r++)
        {
            double t1 = Cpu(() => Gemm.Multiply(k, n, rows, d, k, true, x.X, n, false, g, n, false));
            double t2 = Cpu(() => Numerics.WeightGradient(d, x.X, rows, k, n, g));
            if (r >= 3) { direct += t1; transposed += t2; }
        }
        return $"gradient_ab fashion-mnist 2,3 batch=1000 direct_cpu_ms={direct / 20:F2} transposed_cpu_ms={transposed / 20:F2}";
    }

    private static string Sparsity()
    {
        string dataset = Environment.GetEnvironmentVariable("QA_EQ_DATASET") ?? "fashion-mnist";
        var parts = (Environment.GetEnvironmentVariable("QA_EQ_CLASSES") ?? "2,3").Split(',');
        var task = PairTask.Load(DatasetSpec.Parse(dataset), int.Parse(parts[0]), int.Parse(parts[1]), DataSize.All, DataSize.All, 1);
        var x = task.Train.Take(BatchSchedule.Indices(1, 0, task.Train.Count, 1000));
        int n = x.Features;
        long zeros = x.X.LongCount(v => v == 0);
        // Forward: A panels of 8 examples; a pixel is skipped when all 8 are zero.
        long kept8 = 0, total8 = 0;
        for (int r0 = 0; r0 + 8 <= x.Count; r0 += 8)
            for (int p = 0; p < n; p++)
            {
                total8++;
                for (int r = r0; r < r0 + 8; r++) if (x.X[r * n + p] != 0) { kept8++; break; }
            }
        // Gradient: B panels of 32 pixels; an example is skipped when its 32 pixels are all zero.
        long kept32 = 0, total32 = 0;
        for (int c0 = 0; c0 < n; c0 += 32)
            for (int r = 0; r < x.Count; r++)
            {
                total32++;
                for (int c = c0; c < Math.Min(n, c0 + 32); c++) if (x.X[r * n + c] != 0) { kept32++; break; }
            }
        long kept8p = 0, total8p = 0;
        for (int c0 = 0; c0 < n; c0 += 8)
            for (int r = 0; r < x.Count; r++)
            {
                total8p++;
                for (int c = c0; c < Math.Min(n, c0 + 8); c++) if (x.X[r * n + c] != 0) { kept8p++; break; }
            }
        return $"equivalence_sparsity gradient_by_8_pixels_kept={kept8p / (double)total8p:F3} {dataset} {string.Join(",", parts)} zero_pixels={zeros / (double)x.X.Length:F3} forward_work_kept={kept8 / (double)total8:F3} gradient_work_kept={kept32 / (double)total32:F3}";
    }
}
