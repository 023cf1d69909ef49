using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using QaActors.Cli.Reporting;
using QaActors.Data;
using QaActors.Learning;
using Spectre.Console;

namespace QaActors.Cli.Commands;

public static class EquivalenceCommand
{
    public static Command Create()
    {
        var dataset = CommonOptions.Dataset();
        var classes = CommonOptions.Classes();
        var steps = new Option<int>("--steps") { Description = "Adam steps for each model.", DefaultValueFactory = _ => 250 };
        var batch = new Option<int>("--batch") { Description = "Examples per step.", DefaultValueFactory = _ => 1000 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 0.001 };
        var hidden = new Option<int>("--hidden") { Description = "Hidden units K.", DefaultValueFactory = _ => 548 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate on the test set every N steps.", DefaultValueFactory = _ => 10 };
        var seed = new Option<ulong>("--seed") { Description = "Seed (initialisation, batches).", DefaultValueFactory = _ => 1UL };
        var outDir = new Option<string?>("--out") { Description = "Output folder (Fig. 3 PNG, equivalence.csv, both models, report.json)." };
        var dataDir = CommonOptions.DataDir();
        var json = CommonOptions.Json();
        var cmd = new Command("equivalence", "The paper's Sec. 5.1: backprop MLP vs exact-gradient EBM on the full class pair, each evaluated with the other's weights.")
        {
            dataset, classes, steps, batch, lr, hidden, evalEvery, seed, outDir, dataDir, json,
        };
        cmd.SetAction(async (pr, ct) =>
        {
            var spec = DatasetSpec.Parse(pr.GetValue(dataset));
            var (a, b) = PairTask.ParseClasses(pr.GetValue(classes));
            CommonOptions.RequireRange(pr.GetValue(steps), "--steps", 1, 10_000_000);
            CommonOptions.RequireRange(pr.GetValue(batch), "--batch", 1, 10_000_000);
            CommonOptions.RequireRange(pr.GetValue(lr), "--lr", 0, 10, loOpen: true);
            CommonOptions.RequireRange(pr.GetValue(hidden), "--hidden", 1, 100_000);
            CommonOptions.RequireRange(pr.GetValue(evalEvery), "--eval-every", 1, 10_000_000);
            var task = PairTask.Load(spec, a, b, DataSize.All, DataSize.All, pr.GetValue(seed), pr.GetValue(dataDir));
            var config = new EquivalenceConfig
            {
                Steps = pr.GetValue(steps), Batch = pr.GetValue(batch), LearningRate = pr.GetValue(lr),
                EvalEvery = pr.GetValue(evalEvery), Hidden = pr.GetValue(hidden), Seed = pr.GetValue(seed),
            };
            string dir = Path.GetFullPath(pr.GetValue(outDir) ?? Path.Combine("runs", $"equivalence-{spec.Name.Replace(':', '_').Replace('/', '_')}-{a}-{b}-{DateTime.UtcNow:yyyyMMdd-HHmmss}"));
            Directory.CreateDirectory(dir);
            bool asJson = pr.GetValue(json);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            EquivalenceResult result;
            if (asJson)
            {
                result = await Task.Run(() => Equivalence.Run(task.Train, task.Test, config, null, ct), ct);
            }
            else
            {
                AnsiConsole.MarkupLineInterpolated($"equivalence on {spec.Name} classes {a},{b}: {task.Train.Count} training and {task.Test.Count} test images, {config.Steps} steps of batch {config.Batch}");
                result = await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var bar = ctx.AddTask("training both models", maxValue: config.Steps);
                        return await Task.Run(() => Equivalence.Run(task.Train, task.Test, config, p =>
                        {
                            bar.Value = p.Step;
                            bar.Description = $"step {p.Step}: MLP {p.MlpTestAccuracy:F3} EBM {p.EbmTestAccuracy:F3}";
                        }, ct), ct);
                    });
            }
            double seconds = watch.Elapsed.TotalSeconds;
            var report = Write(dir, spec, a, b, config, result, task, seconds);
            if (asJson) { Cli.WriteJson(report); return Cli.ExitOk; }
            var f = result.Final;
            var t = new Table().AddColumn("").AddColumn("test accuracy").AddColumn("with the other's weights");
            t.AddRow("MLP (backprop)", f.MlpTestAccuracy.ToString("F4", CultureInfo.InvariantCulture), f.MlpWithEbmWeightsAccuracy.ToString("F4", CultureInfo.InvariantCulture));
            t.AddRow("EBM (exact)", f.EbmTestAccuracy.ToString("F4", CultureInfo.InvariantCulture), f.EbmWithMlpWeightsAccuracy.ToString("F4", CultureInfo.InvariantCulture));
            AnsiConsole.Write(t);
            AnsiConsole.MarkupLineInterpolated($"symmetrised KL (nats): {f.SymKl:G4}; wall time {seconds:F1} s; output {dir}");
            return Cli.ExitOk;
        });
        return cmd;
    }

    private static JsonObject Write(string dir, DatasetSpec spec, int a, int b, EquivalenceConfig config, EquivalenceResult r, PairTask task, double seconds)
    {
        var meta = new Dictionary<string, string>
        {
            ["format"] = "qaactors-mlp", ["dataset"] = spec.Name, ["classes"] = $"{a},{b}",
            ["step"] = config.Steps.ToString(CultureInfo.InvariantCulture), ["hidden"] = config.Hidden.ToString(CultureInfo.InvariantCulture),
        };
        ModelFile.Write(Path.Combine(dir, "mlp.safetensors"), r.MlpParameters, new Dictionary<string, string>(meta) { ["method"] = "backprop" });
        ModelFile.Write(Path.Combine(dir, "ebm.safetensors"), r.EbmParameters, new Dictionary<string, string>(meta) { ["method"] = "exact" });
        var csv = new StringBuilder("step,mlp_train_loss,ebm_train_log_likelihood,mlp_test_accuracy,ebm_test_accuracy,mlp_with_ebm_weights_accuracy,ebm_with_mlp_weights_accuracy,sym_kl,sym_kl_ebm\n");
        foreach (var p in r.History)
            csv.Append(CultureInfo.InvariantCulture, $"{p.Step},{p.MlpTrainLoss:R},{p.EbmTrainLogLikelihood:R},{p.MlpTestAccuracy:R},{p.EbmTestAccuracy:R},{p.MlpWithEbmWeightsAccuracy:R},{p.EbmWithMlpWeightsAccuracy:R},{p.SymKl:R},{p.SymKlEbm:R}\n");
        RunOutputs.WriteAtomically(Path.Combine(dir, "equivalence.csv"), csv.ToString());
        double[] x = r.History.Select(p => (double)p.Step).ToArray();
        Plots.Write(Path.Combine(dir, "fig3.png"),
        [
            new Plots.Panel("MLP trained by backprop", "step", "test accuracy",
                [new("MLP weights as MLP", x, r.History.Select(p => p.MlpTestAccuracy).ToArray()), new("MLP weights as EBM", x, r.History.Select(p => p.EbmWithMlpWeightsAccuracy).ToArray())]),
            new Plots.Panel("EBM trained with the exact gradient", "step", "test accuracy",
                [new("EBM weights as EBM", x, r.History.Select(p => p.EbmTestAccuracy).ToArray()), new("EBM weights as MLP", x, r.History.Select(p => p.MlpWithEbmWeightsAccuracy).ToArray())]),
            new Plots.Panel("Cross-entropy / log-likelihood", "step", "nats",
                [new("MLP test cross-entropy", x, r.History.Select(p => p.MlpTestCrossEntropy).ToArray()), new("-EBM test log P(y|x)", x, r.History.Select(p => -p.EbmTestLogLikelihood).ToArray())]),
            new Plots.Panel("Symmetrised KL between the two models", "step", "nats",
                [new("MLP weights", x, r.History.Select(p => p.SymKl).ToArray()), new("EBM weights", x, r.History.Select(p => p.SymKlEbm).ToArray())]),
        ]);
        var f = r.Final;
        var report = new JsonObject
        {
            ["dataset"] = spec.Name,
            ["classes"] = new JsonArray(a, b),
            ["train_size"] = task.Train.Count,
            ["test_size"] = task.Test.Count,
            ["steps"] = config.Steps,
            ["batch"] = config.Batch,
            ["mlp_test_accuracy"] = f.MlpTestAccuracy,
            ["ebm_test_accuracy"] = f.EbmTestAccuracy,
            ["mlp_with_ebm_weights_accuracy"] = f.MlpWithEbmWeightsAccuracy,
            ["ebm_with_mlp_weights_accuracy"] = f.EbmWithMlpWeightsAccuracy,
            ["sym_kl"] = f.SymKl,
            ["sym_kl_ebm_weights"] = f.SymKlEbm,
            ["wall_seconds"] = seconds,
            ["history"] = new JsonArray(r.History.Select(p => (JsonNode)new JsonObject
            {
                ["step"] = p.Step,
                ["mlp_test_accuracy"] = p.MlpTestAccuracy,
                ["ebm_test_accuracy"] = p.EbmTestAccuracy,
                ["mlp_with_ebm_weights_accuracy"] = p.MlpWithEbmWeightsAccuracy,
                ["ebm_with_mlp_weights_accuracy"] = p.EbmWithMlpWeightsAccuracy,
                ["sym_kl"] = p.SymKl,
                ["sym_kl_ebm_weights"] = p.SymKlEbm,
            }).ToArray()),
            ["plot"] = Path.Combine(dir, "fig3.png"),
            ["out"] = dir,
        };
        RunOutputs.WriteAtomically(Path.Combine(dir, RunOutputs.ReportFileName), report.ToJsonString(Cli.JsonOptions));
        return report;
    }
}
