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

    public static void WriteCurves(string path, string title, IReadOnlyList<StepMetrics> history)
    {
        double[] x = history.Select(h => (double)h.Step).ToArray();
        Plots.Write(path,
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
            ]),
        ]);
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
