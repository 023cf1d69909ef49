using System.Collections.Immutable;
using System.Text.Json.Nodes;
using QaActors.Campaigns;
using QaActors.Learning;
using Xunit;

namespace QaActors.Campaigns.Tests;

public class CampaignReportTests
{
    private static CellResult Run(TrainingMethod m, ulong seed, string status, params double[] accuracies) =>
        Run("mnist", 2, 3, m, seed, status, accuracies);

    private static CellResult Run(string dataset, int a, int b, TrainingMethod m, ulong seed, string status, params double[] accuracies)
    {
        var cell = new Cell(Study.Training, dataset, a, b, m, seed, new CellSettings { Steps = Math.Max(1, accuracies.Length - 1) });
        var history = accuracies.Select((acc, i) => new HistoryPoint(i, ImmutableSortedDictionary.CreateRange(
            [KeyValuePair.Create("test_accuracy", acc), KeyValuePair.Create("train_loss", 1.0 - acc)]))).ToImmutableArray();
        var prov = m == TrainingMethod.Qpu
            ? new CellProvenance(ImmutableSortedDictionary.CreateRange([KeyValuePair.Create("gibbs", 5L), KeyValuePair.Create("qpu", 15L)]),
                ImmutableSortedDictionary.CreateRange([KeyValuePair.Create("breaker-open", 5L)]), 0.25, 0.01, 15, 2)
            : CellProvenance.None;
        return CellResult.For(cell, $"t-{cell.Key}", "alice", status) with
        {
            History = status == CellStatus.Completed ? history : [],
            Provenance = prov,
            WallSeconds = 1.5,
            Reason = status == CellStatus.Failed ? "the node left | retried 2 times" : null,
        };
    }

    private static IReadOnlyList<CellResult> Cells() =>
    [
        // s1 and s2 succeed (tail means 0.733 and 0.823, rises over 0.15); s3 stays flat and fails.
        Run(TrainingMethod.Backprop, 1, CellStatus.Completed, 0.5, 0.65, 0.75, 0.80),
        Run(TrainingMethod.Backprop, 2, CellStatus.Completed, 0.5, 0.72, 0.85, 0.90),
        Run(TrainingMethod.Backprop, 3, CellStatus.Completed, 0.5, 0.50, 0.55, 0.52),
        Run(TrainingMethod.Gibbs, 1, CellStatus.Completed, 0.5, 0.60, 0.65, 0.68),
        Run(TrainingMethod.Gibbs, 2, CellStatus.Failed),
        Run(TrainingMethod.Gibbs, 3, CellStatus.Waiting),
        Run("fashion-mnist", 2, 3, TrainingMethod.Qpu, 1, CellStatus.Completed, 0.5, 0.9, 0.95, 0.96),
    ];

    [Fact]
    public void Stats_are_mean_unbiased_std_and_n()
    {
        var s = SampleStats.Of([0.80, 0.90]);
        Assert.Equal(2, s.N);
        Assert.Equal(0.85, s.Mean, 12);
        Assert.Equal(Math.Sqrt(0.005), s.Std, 12); // ((0.05² + 0.05²) / (2 − 1))^½
        var t = SampleStats.Of([1, 2, 3, 4]);
        Assert.Equal(Math.Sqrt(5.0 / 3.0), t.Std, 12); // Σ(x − 2.5)² = 5, over n − 1 = 3
        Assert.True(double.IsNaN(SampleStats.Of([0.7]).Std));
        Assert.Equal(0, SampleStats.Of([]).N);
    }

    [Fact]
    public void Tables_follow_the_definitions_with_hand_computed_values()
    {
        var r = CampaignReport.Build("t", "test", Cells());
        Assert.Equal([TrainingMethod.Backprop, TrainingMethod.Gibbs, TrainingMethod.Qpu], r.Methods);
        var bp = r.Rows.Single(x => x.Dataset == "mnist" && x.Method == TrainingMethod.Backprop);
        Assert.Equal((3, 2, 0, 0), (bp.Runs, bp.Successes, bp.Failed, bp.Pending));
        Assert.Equal(0.85, bp.FinalAccuracy.Mean, 12);
        Assert.Equal(Math.Sqrt(0.005), bp.FinalAccuracy.Std, 12);
        // Mean curve of the two successful runs: 0.5, 0.685, 0.80, 0.85 → first above 0.70 at step 2.
        Assert.Equal(2, bp.StepsTo70);
        Assert.Equal("2", bp.StepsText);
        // Per run: steps 2 and 1.
        Assert.Equal((2, 1.5), (bp.RunStepsTo70.N, bp.RunStepsTo70.Mean));
        Assert.Equal(Math.Sqrt(0.5), bp.RunStepsTo70.Std, 12);
        Assert.Equal(200.0 / 3.0, bp.SuccessRate!.Value, 9);
        // The paper's Table 1-3 entries for MNIST 2-3, Classical-1: 0.8277, 8, 50.
        Assert.Equal(0.85 - 0.8277, bp.AccuracyDifference!.Value, 9);
        Assert.Equal(2 - 8, bp.StepsDifference!.Value);
        Assert.Equal(200.0 / 3.0 - 50, bp.SuccessDifference!.Value, 9);

        var gibbs = r.Rows.Single(x => x.Dataset == "mnist" && x.Method == TrainingMethod.Gibbs);
        Assert.Equal((1, 0, 1, 1), (gibbs.Runs, gibbs.Successes, gibbs.Failed, gibbs.Pending));
        Assert.Equal(0, gibbs.SuccessRate);
        Assert.Equal("n/a", gibbs.StepsText);
        Assert.Null(gibbs.AccuracyDifference);

        var q = r.Rows.Single(x => x.Dataset == "fashion-mnist" && x.Method == TrainingMethod.Qpu);
        Assert.Equal("Pullover-Dress", q.Label);
        Assert.Equal(0.9116, q.PaperAccuracy!.Value);
        Assert.Equal(1, q.StepsTo70);
        // Rows in the paper's order: MNIST 2-3 before Fashion-MNIST Pullover-Dress.
        Assert.Equal(("mnist", "2-3"), (r.Pairs[0].Dataset, r.Pairs[0].Pair));
    }

    [Fact]
    public void Table_2_is_read_from_the_mean_curve_of_the_successful_runs()
    {
        // Run 1 exceeds 70 % at step 1, run 2 at step 3; their mean (0.5, 0.69, 0.70, 0.875) first exceeds it at step 3.
        var r1 = Run(TrainingMethod.Gibbs, 1, CellStatus.Completed, 0.5, 0.78, 0.70, 0.90);
        var r2 = Run(TrainingMethod.Gibbs, 2, CellStatus.Completed, 0.5, 0.60, 0.70, 0.85);
        Assert.True(r1.Success && r2.Success);
        var row = CampaignReport.Build("t", "t", [r1, r2]).Rows.Single();
        Assert.Equal(3, row.StepsTo70);
        Assert.Equal((2, 2.0), (row.RunStepsTo70.N, row.RunStepsTo70.Mean));
        Assert.Equal(3, row.Horizon);
    }

    [Fact]
    public void Fig4_curves_are_over_successful_runs_only()
    {
        var r = CampaignReport.Build("t", "test", Cells());
        var curves = r.Fig4("mnist", "2-3");
        var bp = curves[0];
        Assert.Equal(2, bp.N);
        Assert.Equal([0, 1, 2, 3], bp.Steps);
        Assert.Equal(0.685, bp.Mean[1], 12);
        Assert.Equal(0.07 / Math.Sqrt(2), bp.Std[1], 12);
        Assert.Equal(0, curves[1].N); // gibbs had no successful run
    }

    [Fact]
    public void Report_files_hold_tables_figures_and_provenance()
    {
        string dir = Path.Combine(Path.GetTempPath(), "qa-report-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var cells = Cells().Append(new CellResult("t-e-m-0-1-backprop-s1", Study.Equivalence, "mnist", 0, 1, TrainingMethod.Backprop, 1,
                CampaignParser.EquivalenceDefaults, CellStatus.Completed, null, 1, "alice",
                [new HistoryPoint(0, ImmutableSortedDictionary.CreateRange([KeyValuePair.Create("test_accuracy", 0.5), KeyValuePair.Create("ebm_test_accuracy", 0.5), KeyValuePair.Create("train_loss", 0.7), KeyValuePair.Create("ebm_log_likelihood", -0.69)]))],
                CellProvenance.None, 3)).ToList();
            var r = CampaignReport.Build("t", "test", cells);
            var files = r.WriteAll(dir);
            Assert.Contains("fig4-mnist-2-3.png", files);
            Assert.Contains("fig4-fashion-mnist-2-3.png", files);
            Assert.Contains("fig3-mnist-0-1.png", files);
            foreach (var png in files.Where(f => f.EndsWith(".png", StringComparison.Ordinal)))
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(dir, png))[..4]);
            string md = File.ReadAllText(Path.Combine(dir, "tables.md"));
            Assert.Contains("| MNIST | 2-3 | 0.8500 ± 0.0707 (n=2) \\| 0.8277 \\| +0.0223", md, StringComparison.Ordinal);
            Assert.Contains("| Fashion-MNIST | Pullover-Dress |", md, StringComparison.Ordinal);
            Assert.Contains("| 75 % |", md, StringComparison.Ordinal); // the QPU served 15 of 20 examples
            Assert.Contains("failed: the node left / retried 2 times", md, StringComparison.Ordinal);
            var csv = File.ReadAllLines(Path.Combine(dir, "tables.csv"));
            var f = csv[1].Split(',');
            Assert.Equal(["accuracy", "mnist", "2-3", "2-3", "backprop"], f[..5]);
            Assert.Equal(0.85, double.Parse(f[5], System.Globalization.CultureInfo.InvariantCulture), 12);
            Assert.Equal(("2", "0.8277"), (f[7], f[8]));
            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "report.json")))!;
            Assert.Equal(r.Rows.Count, json["tables"]!.AsArray().Count);
            Assert.Equal(cells.Count, json["cells"]!.AsArray().Count);
            Assert.Equal(0.25, json["qpu_seconds_by_user"]!["alice"]!.GetValue<double>(), 12);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}

public class RuntimeStudyTests
{
    [Fact]
    public void Runtime_rows_measure_then_extrapolate_linearly_and_the_qpu_stops_at_the_graphs_capacity()
    {
        var spec = new RuntimeSpec { MinSize = 10, MaxSize = 10_000, PointsPerDecade = 1, MeasureMaxSize = 100, Reads = 5, Sweeps = 20, Repeats = 1 };
        var pegasus = QaActors.DWave.Topology.Pegasus.Create(3);
        var zephyr = QaActors.DWave.Topology.Zephyr.Create(2, 4);
        var study = RuntimeStudy.Run(spec, default, null, pegasus, zephyr);
        Assert.Equal([10, 100, 1000, 10_000], study.Rows.Select(r => r.Size).ToArray());
        Assert.Equal([true, true, false, false], study.Rows.Select(r => r.Measured).ToArray());
        var last = study.Rows[1];
        Assert.Equal(last.GibbsSeconds * 100, study.Rows[3].GibbsSeconds, 9);
        Assert.Equal(last.MlpSeconds * 10, study.Rows[2].MlpSeconds, 9);
        // The capacity is where the constructive embedder stops: N embeds, N + 1 does not.
        Assert.True(study.MaxPegasus > 10 && study.MaxPegasus < pegasus.NumNodes, $"{study.MaxPegasus}");
        Assert.NotNull(RuntimeStudy.StarEmbedding(study.MaxPegasus, pegasus));
        Assert.Null(RuntimeStudy.StarEmbedding(study.MaxPegasus + 1, pegasus));
        Assert.True(study.MaxZephyr > 0);
        foreach (var r in study.Rows)
        {
            Assert.Equal(r.Size <= study.MaxPegasus, r.QpuAccessSeconds is not null);
            Assert.True(r.MlpSeconds > 0 && r.GibbsSeconds > 0);
        }
        // The published model: programming (Advantage 4.1: 14,072.88 µs typical + 1,000 µs thermalization) plus per read
        // (anneal 20 µs, readout, delay 20.54 µs).
        var q = study.Rows[0];
        Assert.Equal(0.01507288, q.QpuProgrammingSeconds!.Value, 9);
        Assert.InRange(q.QpuAccessSeconds!.Value - q.QpuProgrammingSeconds!.Value, 5 * 40e-6, 5 * 300e-6);
        Assert.NotNull(q.SimulatorSeconds);
        string dir = Path.Combine(Path.GetTempPath(), "qa-runtime-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            study.Write(dir);
            Assert.Equal(study.Rows.Count + 2, File.ReadAllLines(Path.Combine(dir, "runtime.csv")).Length);
            Assert.True(new FileInfo(Path.Combine(dir, "fig5.png")).Length > 1000);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Cell_results_round_trip_through_json()
    {
        var cell = new Cell(Study.Training, "mnist", 0, 1, TrainingMethod.Qpu, 3, new CellSettings { Tiles = 5 });
        var r = CellResult.For(cell, "x-m-0-1-qpu-s3", "bob", CellStatus.Completed) with
        {
            History = [new HistoryPoint(0, ImmutableSortedDictionary.CreateRange([KeyValuePair.Create("test_accuracy", 0.5)]))],
            Provenance = new CellProvenance(ImmutableSortedDictionary.CreateRange([KeyValuePair.Create("qpu", 3L)]), ImmutableSortedDictionary<string, long>.Empty, 0.5, 0.1, 3, 1),
            WallSeconds = 2,
        };
        string dir = Path.Combine(Path.GetTempPath(), "qa-cell-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            LocalCampaign.Save(dir, r);
            var back = LocalCampaign.TryLoad(dir, r.ExperimentId)!;
            Assert.Equal((r.ExperimentId, r.Study, r.Method, r.Seed, r.Settings, r.Status, r.User), (back.ExperimentId, back.Study, back.Method, back.Seed, back.Settings, back.Status, back.User));
            Assert.Equal(0.5, back.History[0].Values["test_accuracy"]);
            Assert.Equal(3, back.Provenance.Samplers["qpu"]);
            Assert.Null(LocalCampaign.TryLoad(dir, "missing"));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}
