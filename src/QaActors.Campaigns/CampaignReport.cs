using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using QaActors.Learning;

namespace QaActors.Campaigns;

/// <summary>Mean, unbiased standard deviation (n − 1; NaN below two values) and count of a sample.</summary>
public readonly record struct SampleStats(int N, double Mean, double Std)
{
    public static SampleStats Of(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length == 0) return new SampleStats(0, double.NaN, double.NaN);
        double mean = v.Average();
        double std = v.Length < 2 ? double.NaN : Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
        return new SampleStats(v.Length, mean, std);
    }
}

/// <summary>One row of Tables 1-3 for one method: a (dataset, pair, method) group of a campaign's Sec. 5.2 cells.</summary>
public sealed record TableRow(
    string Dataset, string Pair, string Label, TrainingMethod Method,
    /// <summary>Completed runs (the trials), successful ones, and cells that failed or are not done.</summary>
    int Runs, int Successes, int Failed, int Pending,
    /// <summary>Table 1: final test accuracy over the successful runs.</summary>
    SampleStats FinalAccuracy,
    /// <summary>Table 2: the first step at which the mean test accuracy of the successful runs exceeds 70 %; null: never (or no successful run).</summary>
    int? StepsTo70,
    /// <summary>The last recorded step of the mean curve (Table 2 prints "&gt;horizon" when it never exceeds 70 %).</summary>
    int Horizon,
    /// <summary>Table 2 per run: the steps of the successful runs that exceed 70 % at some step.</summary>
    SampleStats RunStepsTo70,
    /// <summary>Table 3: successful / completed runs, in percent (null without completed runs).</summary>
    double? SuccessRate,
    PaperValue? PaperAccuracy, PaperValue? PaperSteps, PaperValue? PaperSuccess)
{
    public double? AccuracyDifference => PaperAccuracy?.Value is double p && FinalAccuracy.N > 0 ? FinalAccuracy.Mean - p : null;
    public double? StepsDifference => PaperSteps?.Value is double p && StepsTo70 is int s ? s - p : null;
    public double? SuccessDifference => PaperSuccess?.Value is double p && SuccessRate is double s ? s - p : null;

    /// <summary>Table 2's entry as the paper writes it: the step, "&gt;N" when never within N steps, "n/a" without a successful run.</summary>
    public string StepsText => Successes == 0 ? "n/a" : StepsTo70 is int s ? s.ToString(CultureInfo.InvariantCulture) : $">{Horizon}";
}

/// <summary>A method's curve of Fig. 4: mean and unbiased std of the test accuracy per step over n successful runs.</summary>
public sealed record Curve(string Label, double[] Steps, double[] Mean, double[] Std, int N);

/// <summary>
/// The report of a campaign from its cells alone (docs/campaigns.md, "The report"): Tables 1-3 beside the paper's
/// values, Fig. 4 curves per pair, Fig. 3 per equivalence pair and the provenance of every cell.
/// </summary>
public sealed class CampaignReport
{
    public string CampaignId { get; }
    public string Name { get; }
    public IReadOnlyList<CellResult> Cells { get; }
    public IReadOnlyList<TableRow> Rows { get; }
    public IReadOnlyList<TrainingMethod> Methods { get; }
    public IReadOnlyList<(string Dataset, string Pair, string Label)> Pairs { get; }
    public IReadOnlyList<(string Dataset, string Pair)> EquivalencePairs { get; }

    private CampaignReport(string campaignId, string name, IReadOnlyList<CellResult> cells, PaperValues paper)
    {
        CampaignId = campaignId;
        Name = name;
        Cells = cells;
        var training = cells.Where(c => c.Study == Study.Training).ToList();
        Methods = training.Select(c => c.Method).Distinct().OrderBy(MethodOrder).ToList();
        Pairs = training.Select(c => (c.Dataset, Pair: c.PairLabel)).Distinct()
            .OrderBy(p => paper.Order(p.Dataset, p.Pair)).ThenBy(p => p.Dataset, StringComparer.Ordinal).ThenBy(p => p.Pair, StringComparer.Ordinal)
            .Select(p => (p.Dataset, p.Pair, paper.Label(p.Dataset, p.Pair))).ToList();
        var rows = new List<TableRow>();
        foreach (var (dataset, pair, label) in Pairs)
            foreach (var m in Methods)
                rows.Add(Row(training.Where(c => c.Dataset == dataset && c.PairLabel == pair && c.Method == m).ToList(), dataset, pair, label, m, paper));
        Rows = rows;
        EquivalencePairs = cells.Where(c => c.Study == Study.Equivalence).Select(c => (c.Dataset, c.PairLabel)).Distinct().ToList();
    }

    public static CampaignReport Build(string campaignId, string name, IReadOnlyList<CellResult> cells, PaperValues? paper = null) =>
        new(campaignId, name, cells, paper ?? PaperValues.Load());

    /// <summary>The paper's column order: Classical-1, Classical-2, Quantum-1, then the other methods.</summary>
    private static int MethodOrder(TrainingMethod m) => m switch
    {
        TrainingMethod.Backprop => 0, TrainingMethod.Gibbs => 1, TrainingMethod.Qpu => 2, TrainingMethod.Exact => 3, _ => 4,
    };

    public static string MethodTitle(TrainingMethod m) => m switch
    {
        TrainingMethod.Backprop => "Classical-1 (backprop)",
        TrainingMethod.Gibbs => "Classical-2 (gibbs)",
        TrainingMethod.Qpu => "Quantum-1 (qpu)",
        _ => m.ToWire(),
    };

    private static TableRow Row(List<CellResult> group, string dataset, string pair, string label, TrainingMethod m, PaperValues paper)
    {
        var done = group.Where(c => c.IsCompleted).ToList();
        var ok = done.Where(c => c.Success).ToList();
        var curve = MeanCurve(ok, m.ToWire());
        int? steps = null;
        for (int i = 0; i < curve.Steps.Length; i++)
            if (curve.Mean[i] > Metrics.Threshold70) { steps = (int)curve.Steps[i]; break; }
        int horizon = curve.Steps.Length > 0 ? (int)curve.Steps[^1] : done.Count > 0 ? done.Max(c => c.Accuracies.Count > 0 ? c.Accuracies[^1].Step : 0) : 0;
        return new TableRow(dataset, pair, label, m, done.Count, ok.Count,
            group.Count(c => c.Status is CellStatus.Failed or CellStatus.Cancelled), group.Count(c => c.Status is CellStatus.Waiting or CellStatus.Running),
            SampleStats.Of(ok.Select(c => c.FinalAccuracy!.Value)), steps, horizon,
            SampleStats.Of(ok.Where(c => c.StepsTo70 is not null).Select(c => (double)c.StepsTo70!.Value)),
            done.Count == 0 ? null : 100.0 * ok.Count / done.Count,
            paper.Get(PaperValues.Accuracy, dataset, pair, m), paper.Get(PaperValues.StepsTo70, dataset, pair, m), paper.Get(PaperValues.SuccessRate, dataset, pair, m));
    }

    /// <summary>
    /// Mean and unbiased std per step of one metric over runs, at the steps every run recorded (runs of one cell group
    /// share their settings, so normally every run has every step).
    /// </summary>
    public static Curve MeanCurve(IReadOnlyList<CellResult> runs, string label, string metric = "test_accuracy")
    {
        if (runs.Count == 0) return new Curve(label, [], [], [], 0);
        var common = runs.Select(r => r.History.Where(h => h.Values.ContainsKey(metric)).Select(h => h.Step).ToHashSet())
            .Aggregate((a, b) => { a.IntersectWith(b); return a; }).Order().ToArray();
        var mean = new double[common.Length];
        var std = new double[common.Length];
        for (int i = 0; i < common.Length; i++)
        {
            var s = SampleStats.Of(runs.Select(r => r.History.First(h => h.Step == common[i]).Values[metric]));
            mean[i] = s.Mean;
            std[i] = s.Std;
        }
        return new Curve(label, common.Select(x => (double)x).ToArray(), mean, std, runs.Count);
    }

    /// <summary>Fig. 4 of a pair: one curve per method over its successful runs.</summary>
    public IReadOnlyList<Curve> Fig4(string dataset, string pair) =>
        Methods.Select(m => MeanCurve(Cells.Where(c => c.Study == Study.Training && c.Dataset == dataset && c.PairLabel == pair && c.Method == m && c.Success).ToList(),
            MethodTitle(m))).ToList();

    /// <summary>
    /// Fig. 3 of an equivalence pair, from its backprop cells (θ_mlp) and exact cells (θ_ebm), each averaged over its
    /// completed seeds. A training cell records both models with its own weights (test_accuracy is the MLP's,
    /// ebm_test_accuracy the EBM's), which is exactly the paper's "with weights inherited from the other" pair.
    /// </summary>
    public IReadOnlyList<(string Title, string YLabel, Curve[] Curves)> Fig3(string dataset, string pair)
    {
        var cells = Cells.Where(c => c.Study == Study.Equivalence && c.Dataset == dataset && c.PairLabel == pair && c.IsCompleted).ToList();
        var mlp = cells.Where(c => c.Method == TrainingMethod.Backprop).ToList();
        var ebm = cells.Where(c => c.Method == TrainingMethod.Exact).ToList();
        return
        [
            ("Training loss of the MLP (batch cross-entropy)", "nats", [MeanCurve(mlp, "MLP (backprop)", "train_loss"), MeanCurve(ebm, "MLP with weights inherited from the EBM", "train_loss")]),
            ("log P(y|x) of the EBM (test)", "nats", [MeanCurve(ebm, "EBM (exact gradient)", "ebm_log_likelihood"), MeanCurve(mlp, "EBM with weights inherited from the MLP", "ebm_log_likelihood")]),
            ("Test accuracy of the MLP", "accuracy", [MeanCurve(mlp, "MLP (backprop)"), MeanCurve(ebm, "MLP with weights inherited from the EBM")]),
            ("Test accuracy of the EBM", "accuracy", [MeanCurve(ebm, "EBM (exact gradient)", "ebm_test_accuracy"), MeanCurve(mlp, "EBM with weights inherited from the MLP", "ebm_test_accuracy")]),
        ];
    }

    // ---- output ----

    private static string F(double v, string format = "F4") => double.IsNaN(v) ? "-" : v.ToString(format, CultureInfo.InvariantCulture);

    private static string Signed(double? v, string format) => v is double d ? (d >= 0 ? "+" : "") + d.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Stats(SampleStats s, string format = "F4") =>
        s.N == 0 ? "-" : s.N == 1 ? $"{F(s.Mean, format)} (n=1)" : $"{F(s.Mean, format)} ± {F(s.Std, format)} (n={s.N})";

    public static string DatasetTitle(string d) => d switch { "mnist" => "MNIST", "fashion-mnist" => "Fashion-MNIST", _ => d };

    public string TablesMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Campaign {Name} ({CampaignId})");
        sb.AppendLine();
        int total = Cells.Count, done = Cells.Count(c => c.IsCompleted), failed = Cells.Count(c => c.Status == CellStatus.Failed);
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{total} experiments: {done} completed, {failed} failed, {total - done - failed} not finished. ") +
            "Paper: F. F. Yang, M. Sasdelli, T.-J. Chin, \"Training multilayer perceptrons by sampling with quantum annealers\", Sec. 5.2, Tables 1-3. " +
            "Each entry: ours (mean ± unbiased std over the runs that count, n) | the paper's | ours − paper. Definitions: docs/campaigns.md.");
        sb.AppendLine();
        if (Rows.Count > 0)
        {
            Table(sb, "Table 1: mean final test accuracy of the successful runs", r =>
                $"{Stats(r.FinalAccuracy)} \\| {r.PaperAccuracy?.Text ?? "-"} \\| {Signed(r.AccuracyDifference, "F4")}");
            Table(sb, "Table 2: step at which the mean test accuracy of the successful runs first exceeds 70 % (per-run mean ± std, n in brackets)", r =>
                $"{r.StepsText} [{Stats(r.RunStepsTo70, "F1")}] \\| {r.PaperSteps?.Text ?? "-"} \\| {Signed(r.StepsDifference, "F0")}");
            Table(sb, "Table 3: success rate in percent (successful / completed runs)", r =>
                $"{(r.SuccessRate is double s ? F(s, "F0") : "-")} ({r.Successes}/{r.Runs}{(r.Failed > 0 ? $", {r.Failed} failed" : "")}) \\| {r.PaperSuccess?.Text ?? "-"} \\| {Signed(r.SuccessDifference, "F0")}");
        }
        if (EquivalencePairs.Count > 0)
        {
            sb.AppendLine("## Equivalence (Sec. 5.1): final test accuracy, mean over seeds");
            sb.AppendLine();
            sb.AppendLine("| Dataset | Class | MLP (backprop) | MLP with EBM weights | EBM (exact) | EBM with MLP weights | n |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var (d, p) in EquivalencePairs)
            {
                var cs = Cells.Where(c => c.Study == Study.Equivalence && c.Dataset == d && c.PairLabel == p && c.IsCompleted).ToList();
                var mlp = cs.Where(c => c.Method == TrainingMethod.Backprop).ToList();
                var ebm = cs.Where(c => c.Method == TrainingMethod.Exact).ToList();
                double Last(List<CellResult> l, string key) => l.Count == 0 ? double.NaN : l.Average(c => c.History.Length == 0 ? double.NaN : c.History[^1].Get(key) ?? double.NaN);
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {DatasetTitle(d)} | {p} | {F(Last(mlp, "test_accuracy"))} | {F(Last(ebm, "test_accuracy"))} | {F(Last(ebm, "ebm_test_accuracy"))} | {F(Last(mlp, "ebm_test_accuracy"))} | {Math.Min(mlp.Count, ebm.Count)} |");
            }
            sb.AppendLine();
        }
        sb.AppendLine("## Provenance per experiment");
        sb.AppendLine();
        sb.AppendLine("| experiment | status | attempts | user | samplers | QPU share | fallbacks | QPU time (s) | mean chain breaks | clipped biases | wall (s) |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var c in Cells)
        {
            var p = c.Provenance;
            string samplers = p.Samplers.Count == 0 ? "-" : string.Join(" ", p.Samplers.Select(kv => $"{kv.Key}:{kv.Value}"));
            string fallbacks = p.FallbackReasons.Count == 0 ? "0" : string.Join(" ", p.FallbackReasons.Select(kv => $"{kv.Key}:{kv.Value}"));
            string status = c.Reason is null ? c.Status : $"{c.Status}: {c.Reason.Replace("|", "/", StringComparison.Ordinal)}";
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {c.ExperimentId} | {status} | {c.Attempts} | {c.User} | {samplers} | {(double.IsNaN(p.QpuShare) ? "-" : F(p.QpuShare, "P0"))} | {fallbacks} | {F(p.QpuAccessSeconds, "F3")} | {F(p.MeanChainBreakFraction, "F4")} | {p.ClippedBiases} | {F(c.WallSeconds, "F1")} |");
        }
        sb.AppendLine();
        sb.AppendLine("QPU time per user (s): " + string.Join(", ", QpuSecondsByUser().Select(kv => $"{kv.Key} {F(kv.Value, "F3")}")));
        return sb.ToString();
    }

    public IReadOnlyDictionary<string, double> QpuSecondsByUser() =>
        Cells.GroupBy(c => c.User).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(c => c.Provenance.QpuAccessSeconds));

    private void Table(StringBuilder sb, string title, Func<TableRow, string> cell)
    {
        sb.AppendLine(CultureInfo.InvariantCulture, $"## {title}");
        sb.AppendLine();
        sb.AppendLine("| Dataset | Class | " + string.Join(" | ", Methods.Select(m => $"{MethodTitle(m)}: ours \\| paper \\| Δ")) + " |");
        sb.AppendLine("|---|---|" + string.Concat(Methods.Select(_ => "---|")));
        foreach (var (d, p, label) in Pairs)
            sb.AppendLine($"| {DatasetTitle(d)} | {label} | " + string.Join(" | ", Methods.Select(m => cell(Rows.First(r => r.Dataset == d && r.Pair == p && r.Method == m)))) + " |");
        sb.AppendLine();
    }

    public string TablesCsv()
    {
        var sb = new StringBuilder("table,dataset,pair,label,method,value,std,n,paper,difference,runs,successes,failed,pending\n");
        string N(double? v) => v is double d && !double.IsNaN(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "";
        foreach (var r in Rows)
        {
            string common = $"{r.Dataset},{r.Pair},{r.Label},{r.Method.ToWire()}";
            string tail = $"{r.Runs},{r.Successes},{r.Failed},{r.Pending}";
            sb.Append(CultureInfo.InvariantCulture, $"{PaperValues.Accuracy},{common},{N(r.FinalAccuracy.N > 0 ? r.FinalAccuracy.Mean : null)},{N(r.FinalAccuracy.Std)},{r.FinalAccuracy.N},{r.PaperAccuracy?.Text},{N(r.AccuracyDifference)},{tail}\n");
            sb.Append(CultureInfo.InvariantCulture, $"{PaperValues.StepsTo70},{common},{r.StepsText},{N(r.RunStepsTo70.Std)},{r.RunStepsTo70.N},{r.PaperSteps?.Text},{N(r.StepsDifference)},{tail}\n");
            sb.Append(CultureInfo.InvariantCulture, $"{PaperValues.SuccessRate},{common},{N(r.SuccessRate)},,{r.Runs},{r.PaperSuccess?.Text},{N(r.SuccessDifference)},{tail}\n");
        }
        return sb.ToString();
    }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static JsonNode? Num(double? v) => v is double d && double.IsFinite(d) ? JsonValue.Create(d) : null;

    private static JsonObject StatsJson(SampleStats s) => new() { ["mean"] = Num(s.Mean), ["std"] = Num(s.Std), ["n"] = s.N };

    public JsonObject ToJson(IReadOnlyList<string> figures)
    {
        return new JsonObject
        {
            ["campaign_id"] = CampaignId,
            ["name"] = Name,
            ["paper"] = "F. F. Yang, M. Sasdelli, T.-J. Chin, \"Training multilayer perceptrons by sampling with quantum annealers\", Sec. 5",
            ["definitions"] = "docs/campaigns.md",
            ["tables"] = new JsonArray(Rows.Select(r => (JsonNode)new JsonObject
            {
                ["dataset"] = r.Dataset, ["pair"] = r.Pair, ["label"] = r.Label, ["method"] = r.Method.ToWire(),
                ["dataset_title"] = DatasetTitle(r.Dataset), ["method_title"] = MethodTitle(r.Method),
                ["runs"] = r.Runs, ["successes"] = r.Successes, ["failed"] = r.Failed, ["pending"] = r.Pending,
                ["final_accuracy"] = StatsJson(r.FinalAccuracy), ["paper_accuracy"] = Num(r.PaperAccuracy?.Value), ["accuracy_difference"] = Num(r.AccuracyDifference),
                ["steps_to_70"] = r.StepsTo70, ["steps_to_70_text"] = r.StepsText, ["horizon"] = r.Horizon, ["run_steps_to_70"] = StatsJson(r.RunStepsTo70),
                ["paper_steps_to_70"] = r.PaperSteps?.Text, ["steps_difference"] = Num(r.StepsDifference),
                ["success_rate"] = Num(r.SuccessRate), ["paper_success_rate"] = Num(r.PaperSuccess?.Value), ["success_difference"] = Num(r.SuccessDifference),
            }).ToArray()),
            ["qpu_seconds_by_user"] = new JsonObject(QpuSecondsByUser().Select(kv => KeyValuePair.Create(kv.Key, Num(kv.Value)))),
            ["figures"] = new JsonArray(figures.Select(f => (JsonNode)f).ToArray()),
            ["cells"] = JsonSerializer.SerializeToNode(Cells, JsonOptions),
        };
    }

    /// <summary>
    /// The figures' file names (fig4-DATASET-A-B.png per pair, then fig3-... per equivalence pair), in report.json's
    /// order. <see cref="FigurePng"/> draws any of them: the CLI writes them to files and the node serves them, one code.
    /// </summary>
    public IReadOnlyList<string> FigureNames =>
        [.. Pairs.Select(p => Fig4Name(p.Dataset, p.Pair)), .. EquivalencePairs.Select(p => $"fig3-{FileSafe(p.Dataset)}-{p.Pair}.png")];

    private static string Fig4Name(string dataset, string pair) => $"fig4-{FileSafe(dataset)}-{pair}.png";

    /// <summary>The PNG of one of <see cref="FigureNames"/>, or null for a name that is not one of them.</summary>
    public byte[]? FigurePng(string name)
    {
        foreach (var (d, p, label) in Pairs)
            if (Fig4Name(d, p) == name) return CampaignFigures.Fig4Png($"{DatasetTitle(d)} {label}", Fig4(d, p));
        foreach (var (d, p) in EquivalencePairs)
            if ($"fig3-{FileSafe(d)}-{p}.png" == name) return CampaignFigures.Fig3Png($"{DatasetTitle(d)} {p}", Fig3(d, p));
        return null;
    }

    /// <summary>report.json's text (indented, as <see cref="WriteAll"/> writes it and the node's API serves it).</summary>
    public string ReportJson() => ToJson(FigureNames).ToJsonString(JsonOptions);

    /// <summary>Writes tables.md, tables.csv, report.json and the figures (fig4-*.png, fig3-*.png) into <paramref name="dir"/>.</summary>
    public IReadOnlyList<string> WriteAll(string dir)
    {
        Directory.CreateDirectory(dir);
        var figures = FigureNames;
        foreach (var name in figures) WriteAtomically(Path.Combine(dir, name), FigurePng(name)!);
        WriteAtomically(Path.Combine(dir, "tables.md"), TablesMarkdown());
        WriteAtomically(Path.Combine(dir, "tables.csv"), TablesCsv());
        WriteAtomically(Path.Combine(dir, "report.json"), ReportJson());
        return [.. figures, "tables.md", "tables.csv", "report.json"];
    }

    public static string FileSafe(string s) => new(s.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());

    public static void WriteAtomically(string path, string text)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    public static void WriteAtomically(string path, byte[] bytes)
    {
        string tmp = path + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }
}
