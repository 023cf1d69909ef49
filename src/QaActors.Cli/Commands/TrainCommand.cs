using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using QaActors.Cli.Reporting;
using QaActors.Data;
using QaActors.Learning;
using Spectre.Console;

namespace QaActors.Cli.Commands;

public static class TrainCommand
{
    public sealed class Options
    {
        public readonly Option<string> Dataset = CommonOptions.Dataset();
        public readonly Option<string> Classes = CommonOptions.Classes();
        public readonly Option<string> Method = new("--method") { Description = "backprop (Classical-1) | exact | gibbs (Classical-2) | anneal | qpu (Quantum-1)", Required = true };
        public readonly Option<int> Hidden = new("--hidden") { Description = "Hidden units K.", DefaultValueFactory = _ => 548 };
        public readonly Option<string> TrainSize = new("--train-size") { Description = "Training images (balanced), or all.", DefaultValueFactory = _ => "20" };
        public readonly Option<string> TestSize = new("--test-size") { Description = "Test images (balanced), or all.", DefaultValueFactory = _ => "all" };
        public readonly Option<int> Batch = new("--batch") { Description = "Examples per step.", DefaultValueFactory = _ => 5 };
        public readonly Option<double> Lr = new("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 0.1 };
        public readonly Option<int> Steps = new("--steps") { Description = "Training steps (Adam updates).", DefaultValueFactory = _ => 20 };
        public readonly Option<string?> TEff = new("--t-eff") { Description = "Temperature factor T: problems are divided by T (default 16 for qpu as in the paper, 1 for classical samplers); qpu also takes auto (T from the running beta estimate)." };
        public readonly Option<double> Beta = new("--beta") { Description = "Inverse temperature of the classical samplers.", DefaultValueFactory = _ => 1.0 };
        public readonly Option<int> Reads = new("--reads") { Description = "Samples per example.", DefaultValueFactory = _ => 100 };
        public readonly Option<int?> Sweeps = new("--sweeps") { Description = "Sweeps per read (gibbs, anneal; default 1000)." };
        public readonly Option<ulong> Seed = new("--seed") { Description = "Experiment seed (initialisation, split, batches, samplers).", DefaultValueFactory = _ => 1UL };
        public readonly Option<int> EvalEvery = new("--eval-every") { Description = "Evaluate the test metrics every N steps.", DefaultValueFactory = _ => 1 };
        public readonly Option<string?> Out = new("--out") { Description = "Output folder (model, metrics.csv, curves.png, report.json). Default runs/<dataset>-<A>-<B>-<method>-<time>." };
        public readonly Option<string?> DataDir = CommonOptions.DataDir();
        public readonly Option<bool> Json = CommonOptions.Json();

        public readonly QpuOptions Qpu = new();

        public void AddTo(Command cmd)
        {
            Qpu.AddTo(cmd);
            foreach (Option o in new Option[] { Dataset, Classes, Method, Hidden, TrainSize, TestSize, Batch, Lr, Steps, TEff, Beta, Reads, Sweeps, Seed, EvalEvery, Out, DataDir, Json })
                cmd.Add(o);
        }

        public TrainingConfig Config(ParseResult pr, DatasetSpec spec, int a, int b, PairTask task)
        {
            TrainingMethod method;
            try { method = TrainingMethodNames.Parse(pr.GetValue(Method)!); }
            catch (ArgumentException) { throw new UsageException($"--method '{pr.GetValue(Method)}' is not known; use backprop, exact, gibbs, anneal or qpu."); }
            CommonOptions.RequireRange(pr.GetValue(Hidden), "--hidden", 1, 100_000);
            CommonOptions.RequireRange(pr.GetValue(Batch), "--batch", 1, 1_000_000);
            CommonOptions.RequireRange(pr.GetValue(Lr), "--lr", 0, 10, loOpen: true);
            CommonOptions.RequireRange(pr.GetValue(Steps), "--steps", 0, 10_000_000);
            CommonOptions.RequireRange(pr.GetValue(Beta), "--beta", 0, 1e6, loOpen: true);
            CommonOptions.RequireRange(pr.GetValue(Reads), "--reads", 1, 1_000_000);
            CommonOptions.RequireRange(pr.GetValue(EvalEvery), "--eval-every", 1, 10_000_000);
            if (pr.GetValue(Sweeps) is int sw) CommonOptions.RequireRange(sw, "--sweeps", 2, 10_000_000);
            var (tEff, autoT) = QpuOptions.ParseTEff(pr.GetValue(TEff), method == TrainingMethod.Qpu ? 16.0 : 1.0);
            if (autoT && method != TrainingMethod.Qpu) throw new UsageException("--t-eff auto applies to --method qpu (the QPU's temperature is estimated from its samples); give a number for the classical samplers.");
            // With auto the problems go out undivided and the QPU sampler owns the (moving) factor.
            if (autoT) tEff = 1.0;
            return new TrainingConfig
            {
                Method = method,
                Hidden = pr.GetValue(Hidden),
                Batch = pr.GetValue(Batch),
                LearningRate = pr.GetValue(Lr),
                Steps = pr.GetValue(Steps),
                TEff = tEff,
                Beta = pr.GetValue(Beta),
                Reads = pr.GetValue(Reads),
                Sweeps = pr.GetValue(Sweeps),
                Seed = pr.GetValue(Seed),
                EvalEvery = pr.GetValue(EvalEvery),
                Dataset = spec.Name,
                ClassA = a,
                ClassB = b,
                TrainSize = task.Train.Count,
                TestSize = task.Test.Count,
            };
        }

        public (DatasetSpec Spec, int A, int B, PairTask Task) LoadTask(ParseResult pr)
        {
            var spec = DatasetSpec.Parse(pr.GetValue(Dataset));
            var (a, b) = PairTask.ParseClasses(pr.GetValue(Classes));
            var task = PairTask.Load(spec, a, b, DataSize.Parse(pr.GetValue(TrainSize), "--train-size"),
                DataSize.Parse(pr.GetValue(TestSize), "--test-size"), pr.GetValue(Seed), pr.GetValue(DataDir));
            return (spec, a, b, task);
        }

        /// <summary>The QPU sampler of a Quantum-1 run: problems arrive already divided by T unless --t-eff auto.</summary>
        public async Task<QaActors.DWave.Sapi.QpuSampler> CreateQpuSampler(ParseResult pr, CancellationToken ct)
        {
            var (t, auto) = QpuOptions.ParseTEff(pr.GetValue(TEff), 16.0);
            return await Qpu.CreateAsync(pr, auto ? 1.0 / t : 1.0, auto, ct);
        }

        public string OutputDirectory(ParseResult pr, TrainingConfig c)
        {
            string dir = pr.GetValue(Out) ?? Path.Combine("runs",
                $"{c.Dataset.Replace(':', '_').Replace('/', '_')}-{c.ClassA}-{c.ClassB}-{c.Method.ToWire()}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
            Directory.CreateDirectory(dir);
            return Path.GetFullPath(dir);
        }
    }

    public static Command Create()
    {
        var o = new Options();
        var cmd = new Command("train", "Train the 784-K-1 MLP on a class pair by backprop or by sampling the EBM's negative phase.");
        o.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            var (spec, a, b, task) = o.LoadTask(pr);
            var config = o.Config(pr, spec, a, b, task);
            string outDir = o.OutputDirectory(pr, config);
            bool json = pr.GetValue(o.Json);
            using var qpu = config.Method == TrainingMethod.Qpu ? await o.CreateQpuSampler(pr, ct) : null;
            var sampler = qpu ?? SamplerFactory.ForTraining(config);
            TrainingResult result;
            if (json)
            {
                result = await DirectTrainer.RunAsync(config, task.Train, task.Test, sampler, null, ct);
            }
            else
            {
                AnsiConsole.MarkupLineInterpolated($"[bold]{config.Method.ToWire()}[/] on {config.Dataset} classes {a},{b}: {task.Train.Count} training and {task.Test.Count} test images, {config.Steps} steps of batch {config.Batch}");
                result = await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var bar = ctx.AddTask("training", maxValue: Math.Max(1, config.Steps));
                        return await DirectTrainer.RunAsync(config, task.Train, task.Test, sampler, m =>
                        {
                            bar.Value = m.Step;
                            bar.Description = $"step {m.Step}: test acc {m.TestAccuracy:F3}";
                        }, ct);
                    });
            }
            string modelPath = WriteOutputs(outDir, config, result);
            if (json)
            {
                Cli.WriteJson(Report(config, result, modelPath, outDir));
            }
            else
            {
                RenderSummary(config, result, outDir);
            }
            return Cli.ExitOk;
        });
        return cmd;
    }

    public static string WriteOutputs(string outDir, TrainingConfig config, TrainingResult result)
    {
        string modelPath = Path.Combine(outDir, RunOutputs.ModelFileName);
        ModelFile.Write(modelPath, result.Parameters, RunOutputs.Metadata(config, result.State.Step));
        RunOutputs.WriteAtomically(Path.Combine(outDir, RunOutputs.MetricsFileName), RunOutputs.MetricsCsv(result.History));
        RunOutputs.WriteCurves(Path.Combine(outDir, RunOutputs.PlotFileName), $"{config.Method.ToWire()} {config.Dataset} {config.ClassA},{config.ClassB}", result.History);
        return modelPath;
    }

    public static JsonObject Report(TrainingConfig config, TrainingResult result, string modelPath, string outDir)
    {
        var report = new JsonObject
        {
            ["dataset"] = config.Dataset,
            ["classes"] = new JsonArray(config.ClassA, config.ClassB),
            ["method"] = config.Method.ToWire(),
            ["steps"] = result.State.Step,
            ["train_size"] = config.TrainSize,
            ["test_size"] = config.TestSize,
            ["test_accuracy"] = result.Final.TestAccuracy,
            ["ebm_test_accuracy"] = result.Final.EbmTestAccuracy,
            ["cross_entropy"] = result.Final.CrossEntropy,
            ["ebm_log_likelihood"] = result.Final.EbmLogLikelihood,
            ["steps_to_70"] = result.StepsTo70,
            ["success"] = result.Success,
            ["history"] = new JsonArray(result.History.Select(h => (JsonNode)RunOutputs.HistoryEntry(h)).ToArray()),
            ["sampler_totals"] = new JsonObject(result.SamplerTotals.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["model"] = modelPath,
            ["out"] = outDir,
        };
        RunOutputs.WriteAtomically(Path.Combine(outDir, RunOutputs.ReportFileName), report.ToJsonString(Cli.JsonOptions));
        return report;
    }

    private static void RenderSummary(TrainingConfig config, TrainingResult result, string outDir)
    {
        var f = result.Final;
        var table = new Table().HideHeaders().AddColumn("k").AddColumn("v");
        table.AddRow("MLP test accuracy", f.TestAccuracy.ToString("F4", CultureInfo.InvariantCulture));
        table.AddRow("EBM test accuracy", f.EbmTestAccuracy.ToString("F4", CultureInfo.InvariantCulture));
        table.AddRow("MLP test cross-entropy", f.CrossEntropy.ToString("F4", CultureInfo.InvariantCulture));
        table.AddRow("EBM test log P(y|x)", f.EbmLogLikelihood.ToString("F4", CultureInfo.InvariantCulture));
        table.AddRow("steps to 70 %", result.StepsTo70?.ToString(CultureInfo.InvariantCulture) ?? "never");
        table.AddRow("success", result.Success ? "yes" : "no");
        table.AddRow("output", Markup.Escape(outDir));
        AnsiConsole.Write(table);
    }
}
