using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using QaActors.Learning;

namespace QaActors.Cli.Reporting;

/// <summary>
/// Writes a training run's files into its output folder: the model (safetensors), the per-step metrics CSV, the
/// curves (PNG) and the JSON report. Every file is written to a temporary name and renamed, so a crash never
/// leaves a half-written file in place of a finished one.
/// </summary>
public static class RunOutputs
{
    public const string ModelFileName = "model.safetensors", MetricsFileName = "metrics.csv", PlotFileName = "curves.png", ReportFileName = "report.json";

    /// <summary>
    /// Creates the output folder and proves it writable before any work starts, so that a bad <paramref name="flag"/>
    /// is reported in a second instead of after a whole training run.
    /// </summary>
    public static string PrepareDirectory(string dir, string flag)
    {
        string full = Path.GetFullPath(dir);
        if (File.Exists(full)) throw new UsageException($"{flag} {dir} is a file; give a folder (it is created if missing).");
        string probe = Path.Combine(full, $".qa-write-check-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(full);
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            for (string? up = Path.GetDirectoryName(full); up is not null; up = Path.GetDirectoryName(up))
                if (File.Exists(up)) throw new UsageException($"{flag} {dir}: {up} is a file, so no folder can be made inside it; give another folder.");
            throw new UsageException($"{flag} {dir}: cannot create or write files there (permission denied or a read-only file system); give a folder you can write to.");
        }
        return full;
    }

    public static void WriteAtomically(string path, string text)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, text, new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }

    public static Dictionary<string, string> Metadata(TrainingConfig c, int step) => new()
    {
        ["format"] = "qaactors-mlp",
        ["dataset"] = c.Dataset,
        ["classes"] = $"{c.ClassA},{c.ClassB}",
        ["method"] = c.Method.ToWire(),
        ["step"] = step.ToString(CultureInfo.InvariantCulture),
        ["hidden"] = c.Hidden.ToString(CultureInfo.InvariantCulture),
        ["seed"] = c.Seed.ToString(CultureInfo.InvariantCulture),
        ["t_eff"] = c.TEff.ToString("R", CultureInfo.InvariantCulture),
    };

    public static string MetricsCsv(IEnumerable<StepMetrics> history)
    {
        var sb = new StringBuilder("step,train_loss,test_accuracy,ebm_test_accuracy,cross_entropy,ebm_log_likelihood\n");
        foreach (var h in history)
            sb.Append(CultureInfo.InvariantCulture, $"{h.Step},{h.TrainLoss:R},{h.TestAccuracy:R},{h.EbmTestAccuracy:R},{h.CrossEntropy:R},{h.EbmLogLikelihood:R}\n");
        return sb.ToString();
    }

    public static void WriteCurves(string path, string title, IReadOnlyList<StepMetrics> history) => Plots.Write(path, CurvePanels(title, history));

    /// <summary>curves.png: test accuracies (linear) and the losses (log scale).</summary>
    public static IReadOnlyList<Plots.Panel> CurvePanels(string title, IReadOnlyList<StepMetrics> history)
    {
        double[] x = history.Select(h => (double)h.Step).ToArray();
        return
        [
            new Plots.Panel($"{title}: test accuracy", "step", "accuracy",
            [
                new Plots.Series("MLP", x, history.Select(h => h.TestAccuracy).ToArray()),
                new Plots.Series("EBM", x, history.Select(h => h.EbmTestAccuracy).ToArray()),
            ]),
            new Plots.Panel($"{title}: loss", "step", "nats",
            [
                new Plots.Series("train loss", x, history.Select(h => h.TrainLoss).ToArray()),
                new Plots.Series("test cross-entropy", x, history.Select(h => h.CrossEntropy).ToArray()),
                new Plots.Series("-EBM test log-likelihood", x, history.Select(h => -h.EbmLogLikelihood).ToArray()),
            ], LogY: true),
        ];
    }

    public static JsonObject HistoryEntry(StepMetrics h) => new()
    {
        ["step"] = h.Step,
        ["train_loss"] = h.TrainLoss,
        ["test_accuracy"] = h.TestAccuracy,
        ["ebm_test_accuracy"] = h.EbmTestAccuracy,
        ["cross_entropy"] = h.CrossEntropy,
        ["ebm_log_likelihood"] = h.EbmLogLikelihood,
    };
}
