using QaActors.DWave.Composites;
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using QaActors.Cli.Reporting;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Orchestration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Training;
using QaActors.Sampling;
using Spectre.Console;

namespace QaActors.Cli.Commands;

public static class TrainCommand
{
    /// <summary>
    /// The CLI shows its own progress and errors; Akka's warnings (for example a singleton proxy still looking for its
    /// singleton while the one-node cluster starts) would only be noise on the terminal. A --config file that sets
    /// akka.loglevel wins over this; QA_AKKA_LOGLEVEL wins over both (<see cref="AkkaLogLevelOverride"/>).
    /// </summary>
    public const string QuietAkka = "akka.loglevel = ERROR";

    /// <summary>QA_AKKA_LOGLEVEL as HOCON above every file, or null when unset.</summary>
    public static string? AkkaLogLevelOverride =>
        Environment.GetEnvironmentVariable("QA_AKKA_LOGLEVEL") is { Length: > 0 } level ? $"akka.loglevel = {QaActors.Orchestration.Configuration.QaConfig.Quote(level)}" : null;

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
        public readonly Option<string?> TEff = new("--t-eff") { Description = "qpu: the QPU's temperature factor T, applied on the QPU side only (default 16, the paper's), or auto (T from the running beta estimate). Classical samplers sample the model at --beta." };
        public readonly Option<double> Beta = new("--beta") { Description = "Inverse temperature of the classical samplers.", DefaultValueFactory = _ => 1.0 };
        public readonly Option<int> Reads = new("--reads") { Description = "Samples per example.", DefaultValueFactory = _ => 100 };
        public readonly Option<int?> Sweeps = new("--sweeps") { Description = "Sweeps per read (gibbs, anneal; default 1000)." };
        public readonly Option<ulong> Seed = new("--seed") { Description = "Experiment seed (initialisation, split, batches, samplers).", DefaultValueFactory = _ => 1UL };
        public readonly Option<int> EvalEvery = new("--eval-every") { Description = "Evaluate the test metrics every N steps.", DefaultValueFactory = _ => 1 };
        public readonly Option<string?> Out = new("--out") { Description = "Output folder (model, metrics.csv, curves.png, report.json). Default runs/<dataset>-<A>-<B>-<method>-<time>." };
        public readonly Option<string?> DataDir = CommonOptions.DataDir();
        public readonly Option<bool> Json = CommonOptions.Json();

        public readonly QpuOptions Qpu = new();
        public readonly Client.ServerOptions Server = new();
        public readonly Option<bool> Detach = new("--detach") { Description = "With a node: print the experiment id once it is submitted and return (follow it later with `qa experiment watch ID`)." };
        public readonly Option<string> Fallback = new("--fallback") { Description = "Sampler used when the QPU is down, over quota or too slow: gibbs | anneal | none (wait and retry).", DefaultValueFactory = _ => "gibbs" };
        public readonly Option<string?> User = new("--user") { Description = "Whose QPU-time quota is charged (default $QA_USER, else the OS user)." };
        public readonly Option<string?> Db = CommonOptions.Db();
        public readonly Option<string?> ConfigFile = CommonOptions.ActorConfig();
        public readonly Option<string> Engine = new("--engine") { Description = "actors (default: the Akka.NET cluster, persisted, resumable) or direct (in-process, no persistence).", DefaultValueFactory = _ => "actors" };

        public void AddTo(Command cmd)
        {
            Qpu.AddTo(cmd);
            Fallback.AcceptOnlyFromAmong("gibbs", "anneal", "none");
            Engine.AcceptOnlyFromAmong("actors", "direct");
            foreach (Option o in new Option[] { Fallback, User, Db, ConfigFile, Engine, Detach }) cmd.Add(o);
            Server.AddTo(cmd);
            foreach (Option o in new Option[] { Dataset, Classes, Method, Hidden, TrainSize, TestSize, Batch, Lr, Steps, TEff, Beta, Reads, Sweeps, Seed, EvalEvery, Out, DataDir, Json })
                cmd.Add(o);
        }

        /// <param name="task">The loaded data, or null when a node loads it (it then checks the batch against its training set).</param>
        public TrainingConfig Config(ParseResult pr, DatasetSpec spec, int a, int b, PairTask? task)
        {
            TrainingMethod method;
            try { method = TrainingMethodNames.Parse(pr.GetValue(Method)!); }
            catch (ArgumentException) { throw new UsageException($"--method '{pr.GetValue(Method)}' is not known; use backprop, exact, gibbs, anneal or qpu."); }
            CommonOptions.RequireRange(pr.GetValue(Hidden), "--hidden", 1, 100_000);
            CommonOptions.RequireRange(pr.GetValue(Batch), "--batch", 1, 1_000_000);
            CommonOptions.RequireRange(pr.GetValue(Lr), "--lr", 0, 10, loOpen: true);
            // Zero steps would persist a finished 0/0 experiment that then holds its --out for nothing.
            CommonOptions.RequireRange(pr.GetValue(Steps), "--steps", 1, 10_000_000);
            CommonOptions.RequireRange(pr.GetValue(Beta), "--beta", 0, 1e6, loOpen: true);
            CommonOptions.RequireRange(pr.GetValue(Reads), "--reads", 1, 1_000_000);
            CommonOptions.RequireRange(pr.GetValue(EvalEvery), "--eval-every", 1, 10_000_000);
            if (pr.GetValue(Sweeps) is int sw) CommonOptions.RequireRange(sw, "--sweeps", 2, 10_000_000);
            bool qpu = method == TrainingMethod.Qpu;
            if (!qpu && pr.GetValue(TEff) is not null)
                throw new UsageException($"--t-eff applies to --method qpu (the QPU's temperature factor); --method {method.ToWire()} samples the model at --beta (default 1).");
            Qpu.Validate(pr);
            if (!qpu && pr.GetValue(Qpu.Tiles) != 1) throw new UsageException($"--tiles applies to --method qpu (problems per QPU call); --method {method.ToWire()} has no QPU calls.");
            var temperature = qpu ? QpuOptions.ParseTEff(pr.GetValue(TEff)) : new QpuTemperature(1);
            // A batch is drawn without repeats within a pass, so a batch beyond the training set only repeats images
            // (each step then samples batch / train-size times the work for no new information).
            if (task is not null && pr.GetValue(Batch) > task.Train.Count)
                throw new UsageException($"--batch {pr.GetValue(Batch)} is larger than the training set ({task.Train.Count} images from --train-size {pr.GetValue(TrainSize)}); use --batch {task.Train.Count} or less, or a larger --train-size.");
            return new TrainingConfig
            {
                Method = method,
                Hidden = pr.GetValue(Hidden),
                Batch = pr.GetValue(Batch),
                LearningRate = pr.GetValue(Lr),
                Steps = pr.GetValue(Steps),
                TEff = temperature.TEff,
                AutoTemperature = temperature.Auto,
                Tiles = qpu ? pr.GetValue(Qpu.Tiles) : 1,
                Beta = pr.GetValue(Beta),
                Reads = pr.GetValue(Reads),
                Sweeps = pr.GetValue(Sweeps),
                Seed = pr.GetValue(Seed),
                EvalEvery = pr.GetValue(EvalEvery),
                Dataset = spec.Name,
                ClassA = a,
                ClassB = b,
                TrainSize = task?.Train.Count ?? 0,
                TestSize = task?.Test.Count ?? 0,
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

        public RunOptions RunOptions(ParseResult pr, string outDir, QaActors.DWave.Sapi.QpuSampler? qpu)
        {
            var backends = new Dictionary<string, IQpuBackend>();
            string solver = "default";
            if (qpu is not null)
            {
                solver = qpu.SolverName;
                backends[solver] = new QpuSamplerBackend(qpu);
            }
            return CommonOptions.Store(pr, Db, ConfigFile, DataDir, outDir) with
            {
                Fallback = pr.GetValue(Fallback)!,
                User = pr.GetValue(User),
                Solver = solver,
                QpuBackends = backends,
            };
        }

        /// <summary>The QPU sampler of a Quantum-1 run (it applies the run's temperature; SAPI is reached when it is first used).</summary>
        public QaActors.DWave.Sapi.QpuSampler CreateQpuSampler(ParseResult pr, TrainingConfig config) =>
            Qpu.Create(pr, new QpuTemperature(config.TEff, config.AutoTemperature));

        public string OutputDirectory(ParseResult pr, TrainingConfig c)
        {
            string dir = pr.GetValue(Out) ?? Path.Combine("runs",
                $"{c.Dataset.Replace(':', '_').Replace('/', '_')}-{c.ClassA}-{c.ClassB}-{c.Method.ToWire()}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
            return RunOutputs.PrepareDirectory(dir, "--out");
        }
    }

    public static Command Create()
    {
        var o = new Options();
        var cmd = new Command("train", "Train the 784-K-1 MLP on a class pair by backprop or by sampling the EBM's negative phase.");
        o.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            using var client = o.Server.Resolve(pr, new DataStore(pr.GetValue(o.DataDir)).Root);
            if (client is not null) return await Client.ServerTrain.RunAsync(client, o, pr, ct);
            if (pr.GetValue(o.Detach)) throw new UsageException("--detach needs a node to run the experiment (--server / QA_SERVER, or a `qa node` that owns the data dir).");
            var (spec, a, b, task) = o.LoadTask(pr);
            var config = o.Config(pr, spec, a, b, task);
            string outDir = o.OutputDirectory(pr, config);
            bool json = pr.GetValue(o.Json);
            using var qpu = config.Method == TrainingMethod.Qpu ? o.CreateQpuSampler(pr, config) : null;
            TrainingResult result;
            TrainingRun? run = null;
            bool actors = pr.GetValue(o.Engine) == "actors";
            if (!json) AnsiConsole.MarkupLineInterpolated($"[bold]{config.Method.ToWire()}[/] on {config.Dataset} classes {a},{b}: {task.Train.Count} training and {task.Test.Count} test images, {config.Steps} steps of batch {config.Batch}{(actors ? "" : " (direct, not persisted)")}");
            if (actors)
            {
                var options = o.RunOptions(pr, outDir, qpu);
                var taskRef = new PairTaskRef(spec.Name, a, b, pr.GetValue(o.TrainSize)!, pr.GetValue(o.TestSize)!, config.Seed, pr.GetValue(o.DataDir));
                string id = ExperimentRunner.ExperimentIdFor(outDir);
                long persisted = 0;
                Cli.InterruptNote = () => persisted > 0
                    ? $"step {persisted} of {config.Steps} is persisted (experiment {id}); continue with `qa experiment resume {id}` or the same qa train command."
                    : $"no step was persisted yet (experiment {id}); the same qa train command starts it again.";
                // With --json, stdout carries only the report; a line per persisted step goes to stderr for scripts.
                run = await WithProgress(json, config.Steps, bar => QaTraining.RunAsync(config, task, taskRef, options,
                    bar is null
                        ? new Progress<StepReport>(r => { persisted = r.Step; Console.Error.WriteLine($"qa: step {r.Step}/{r.TotalSteps} persisted"); })
                        : new Progress<StepReport>(r => { persisted = r.Step; bar.Value = r.Step; bar.Description = $"step {r.Step}: {Describe(r)}"; }), ct,
                    continuing: existing =>
                    {
                        persisted = existing.LastStep;
                        string note = existing.Completed
                            ? $"experiment {id} already completed its {existing.Spec.TotalSteps} steps; writing its files again"
                            : $"continuing experiment {id} from its persisted step {existing.LastStep} of {existing.Spec.TotalSteps}";
                        if (json) Console.Error.WriteLine($"qa: {note}");
                        else AnsiConsole.MarkupLineInterpolated($"[yellow]{note}[/]");
                    }));
                result = run.Result;
            }
            else
            {
                Cli.InterruptNote = () => "--engine direct persists nothing; train again (the default engine persists every step).";
                var sampler = (ISampler?)qpu ?? TrainingSamplers.For(config);
                result = await WithProgress(json, config.Steps, bar => DirectTrainer.RunAsync(config, task.Train, task.Test, sampler,
                    bar is null ? null : m => { bar.Value = m.Step; bar.Description = $"step {m.Step}: test acc {m.TestAccuracy:F3}"; }, ct));
            }
            var report = WriteAll(outDir, config, result, run);
            if (json) Cli.WriteJson(report);
            else RenderSummary(config, result, outDir, run);
            return Cli.ExitOk;
        });
        return cmd;
    }

    /// <summary>
    /// Every file of a finished run (model, metrics.csv, curves.png, report.json), whatever the output mode. The
    /// steps are already persisted when this runs, so a failure here loses nothing but the files: it says so and
    /// names the command that writes them again.
    /// </summary>
    public static JsonObject WriteAll(string outDir, TrainingConfig config, TrainingResult result, TrainingRun? run)
    {
        try
        {
            string modelPath = WriteOutputs(outDir, config, result);
            return Report(config, result, modelPath, outDir, run);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string recover = run is null
                ? "--engine direct persists nothing: free the space or fix the folder and train again"
                : $"every step is persisted; once the folder is writable again, `qa experiment resume {run.ExperimentId}` writes the files there (or --out DIR elsewhere)";
            throw new OutputWriteException($"training finished but writing its files to {outDir} failed ({e.Message}); {recover}", e);
        }
    }

    public static string WriteOutputs(string outDir, TrainingConfig config, TrainingResult result)
    {
        string modelPath = Path.Combine(outDir, RunOutputs.ModelFileName);
        ModelFile.Write(modelPath, result.Parameters, RunOutputs.Metadata(config, result.State.Step));
        RunOutputs.WriteAtomically(Path.Combine(outDir, RunOutputs.MetricsFileName), RunOutputs.MetricsCsv(result.History));
        RunOutputs.WriteCurves(Path.Combine(outDir, RunOutputs.PlotFileName), $"{config.Method.ToWire()} {config.Dataset} {config.ClassA},{config.ClassB}", result.History);
        return modelPath;
    }

    public static JsonObject Report(TrainingConfig config, TrainingResult result, string modelPath, string outDir, TrainingRun? run)
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
        if (run is not null)
        {
            report["experiment_id"] = run.ExperimentId;
            report["resumed_from_step"] = run.Experiment.ResumedFromStep;
            report["provenance"] = ProvenanceJson(run.Provenance);
        }
        RunOutputs.WriteAtomically(Path.Combine(outDir, RunOutputs.ReportFileName), report.ToJsonString(Cli.JsonOptions));
        return report;
    }

    public static JsonObject ProvenanceJson(Provenance p) => new()
    {
        ["samplers"] = new JsonObject(p.SamplerCounts.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["fallback_reasons"] = new JsonObject(p.FallbackReasons.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["qpu_access_time"] = p.QpuAccessMicros / 1e6,
        ["qpu_access_time_unit"] = "s",
        ["mean_chain_break_fraction"] = p.MeanChainBreakFraction,
        ["clipped_biases"] = p.ClippedBiases,
        ["examples"] = p.Examples,
    };

    internal static string Describe(StepReport r)
    {
        string acc = r.Metrics.Get("test_accuracy") is double t ? $"test acc {t:F3}" : "";
        return r.StepProvenance.FallbackReasons.Count > 0 ? $"{acc} (fallback: {string.Join(", ", r.StepProvenance.FallbackReasons.Keys)})" : acc;
    }

    internal static async Task<T> WithProgress<T>(bool json, int steps, Func<ProgressTask?, Task<T>> work)
    {
        if (json) return await work(null);
        return await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx => await work(ctx.AddTask("training", maxValue: Math.Max(1, steps))));
    }

    internal static void RenderSummary(TrainingConfig config, TrainingResult result, string outDir, TrainingRun? run)
    {
        var f = result.Final;
        var table = new Table().HideHeaders().AddColumn("k").AddColumn("v");
        table.AddRow("MLP test accuracy", f.TestAccuracy.ToString("F4", CultureInfo.InvariantCulture));
        table.AddRow("EBM test accuracy", f.EbmTestAccuracy.ToString("F4", CultureInfo.InvariantCulture));
        table.AddRow("MLP test cross-entropy", f.CrossEntropy.ToString("F4", CultureInfo.InvariantCulture));
        table.AddRow("EBM test log P(y|x)", f.EbmLogLikelihood.ToString("F4", CultureInfo.InvariantCulture));
        table.AddRow("steps to 70 %", result.StepsTo70?.ToString(CultureInfo.InvariantCulture) ?? "never");
        table.AddRow("success", result.Success ? "yes" : "no");
        if (run is not null)
        {
            var p = run.Provenance;
            table.AddRow("experiment", Markup.Escape(run.ExperimentId) + (run.Experiment.ResumedFromStep >= result.State.Step && result.State.Step > 0 ? " (already complete)"
                : run.Experiment.ResumedFromStep > 0 ? $" (resumed from step {run.Experiment.ResumedFromStep})" : ""));
            table.AddRow("samples served by", Markup.Escape(string.Join(", ", p.SamplerCounts.Select(kv => $"{kv.Key} {kv.Value}"))));
            if (p.FallbackReasons.Count > 0) table.AddRow("fallbacks", Markup.Escape(string.Join(", ", p.FallbackReasons.Select(kv => $"{kv.Key} {kv.Value}"))));
            if (p.QpuAccessMicros > 0) table.AddRow("QPU access time", $"{p.QpuAccessMicros / 1e6:F3} s");
        }
        table.AddRow("output", Markup.Escape(outDir));
        AnsiConsole.Write(table);
    }
}
