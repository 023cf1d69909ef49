using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using QaActors.Cli.Reporting;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Orchestration;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Training;
using Spectre.Console;

namespace QaActors.Cli.Commands;

/// <summary><c>qa experiment list|show|resume</c> and <c>qa quota show|set</c>: the persisted state of the actor system.</summary>
public static class ExperimentCommands
{
    private sealed class StoreOptions
    {
        public readonly Option<string?> Db = CommonOptions.Db();
        public readonly Option<string?> Config = CommonOptions.ActorConfig();
        public readonly Option<string?> DataDir = CommonOptions.DataDir();
        public readonly Option<bool> Json = CommonOptions.Json();

        public readonly Client.ServerOptions Server = new();

        public void AddTo(Command c) { c.Add(Db); c.Add(Config); c.Add(DataDir); c.Add(Json); Server.AddTo(c); }

        public RunOptions Options(ParseResult pr) => CommonOptions.Store(pr, Db, Config, DataDir);

        /// <summary>The node to ask (null: run embedded on the data dir's journal).</summary>
        public Client.QaClient? Client(ParseResult pr) => Server.Resolve(pr, new DataStore(pr.GetValue(DataDir)).Root);
    }

    /// <summary>Bad configuration and unknown experiment ids are the user's input (exit 2).</summary>
    public static bool IsUsageError(Exception e) => e is QaConfigException || e is ExperimentSettingsMismatchException || (e is KeyNotFoundException k && k.Message.StartsWith("experiment", StringComparison.Ordinal));

    public static Command Experiment()
    {
        var cmd = new Command("experiment", "List, inspect and resume persisted experiments.");
        var list = new Command("list", "Every experiment in the journal.");
        var lo = new StoreOptions();
        lo.AddTo(list);
        list.SetAction(async (pr, ct) =>
        {
            using (var client = lo.Client(pr)) if (client is not null) return await QaActors.Cli.Client.ServerExperiments.ListAsync(client, pr.GetValue(lo.Json), ct);
            var all = await QaTraining.ListAsync(lo.Options(pr), ct);
            if (pr.GetValue(lo.Json)) { Cli.WriteJson(new JsonArray(all.Select(s => (JsonNode)Summary(s)).ToArray())); return Cli.ExitOk; }
            // Ids are what users copy into `show` and `resume`: that column never wraps, whatever the width.
            var t = new Table().AddColumn(new TableColumn("experiment").NoWrap()).AddColumn("dataset").AddColumn("classes").AddColumn("method")
                .AddColumn("user").AddColumn(new TableColumn("steps").NoWrap()).AddColumn("test accuracy").AddColumn(new TableColumn("state").NoWrap());
            foreach (var s in all)
            {
                var task = TaskOf(s.Spec);
                t.AddRow(Markup.Escape(s.Spec.ExperimentId), Markup.Escape(task?.Dataset ?? "-"), task is null ? "-" : $"{task.ClassA},{task.ClassB}",
                    s.Spec.Method, Markup.Escape(s.Spec.User), $"{s.LastStep}/{s.Spec.TotalSteps}",
                    s.History.Length > 0 && s.History[^1].Get("test_accuracy") is double a ? a.ToString("F4", CultureInfo.InvariantCulture) : "-",
                    State(s));
            }
            AnsiConsole.Write(t);
            return Cli.ExitOk;
        });
        var show = new Command("show", "One experiment: settings, progress, provenance.");
        var showId = new Argument<string>("id");
        show.Add(showId);
        var so = new StoreOptions();
        so.AddTo(show);
        show.SetAction(async (pr, ct) =>
        {
            using (var client = so.Client(pr)) if (client is not null) return await QaActors.Cli.Client.ServerExperiments.ShowAsync(client, pr.GetValue(showId)!, pr.GetValue(so.Json), ct);
            var s = await QaTraining.ShowAsync(pr.GetValue(showId)!, so.Options(pr), ct);
            var j = Summary(s);
            j["history"] = new JsonArray(s.History.Select(h => (JsonNode)new JsonObject(
                new[] { KeyValuePair.Create("step", (JsonNode?)h.Step) }.Concat(h.Values.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))))).ToArray());
            if (pr.GetValue(so.Json)) { Cli.WriteJson(j); return Cli.ExitOk; }
            RenderShow(s);
            return Cli.ExitOk;
        });
        var resume = new Command("resume", "Continue an experiment from its last persisted step and write its files (classical samplers; a QPU run resumes with `qa train --out` and its QPU options).");
        var resumeId = new Argument<string>("id");
        var outDir = new Option<string?>("--out") { Description = "Where to write the model and metrics (default: the experiment's own --out; runs/<id> for experiments that did not record it)." };
        resume.Add(resumeId);
        resume.Add(outDir);
        var ro = new StoreOptions();
        ro.AddTo(resume);
        resume.SetAction(async (pr, ct) =>
        {
            string id = pr.GetValue(resumeId)!;
            bool json = pr.GetValue(ro.Json);
            using (var client = ro.Client(pr)) if (client is not null) return await QaActors.Cli.Client.ServerExperiments.ResumeAsync(client, id, pr.GetValue(outDir), json, ct);
            var options = ro.Options(pr);
            var before = await QaTraining.ShowAsync(id, options, ct);
            string? recorded = QaTraining.OutputFolderOf(before.Spec);
            string dir = RunOutputs.PrepareDirectory(pr.GetValue(outDir) ?? recorded ?? Path.Combine("runs", id), "--out");
            void Say(string text)
            {
                if (json) Console.Error.WriteLine($"qa: {text}");
                else AnsiConsole.MarkupLineInterpolated($"{text}");
            }
            if (pr.GetValue(outDir) is null && recorded is null) Say($"{id} did not record its --out (it predates that); writing to {dir}");
            Say(before.Completed
                ? $"{id} already completed its {before.Spec.TotalSteps} steps; nothing to train, writing its files to {dir}"
                : $"{id}: continuing from persisted step {before.LastStep} of {before.Spec.TotalSteps}; files go to {dir}");
            long persisted = before.LastStep;
            Cli.InterruptNote = () => $"step {persisted} of {before.Spec.TotalSteps} is persisted; `qa experiment resume {id}` continues.";
            var run = await TrainCommand.WithProgress(json || before.Completed, (int)before.Spec.TotalSteps, bar =>
            {
                if (bar is not null) bar.Value = before.LastStep;
                return QaTraining.ResumeAsync(id, options, new Progress<StepReport>(r =>
                {
                    persisted = r.Step;
                    if (bar is null) Console.Error.WriteLine($"qa: step {r.Step}/{r.TotalSteps} persisted");
                    else { bar.Value = r.Step; bar.Description = $"step {r.Step}: {TrainCommand.Describe(r)}"; }
                }), ct, known: before);
            });
            var report = TrainCommand.WriteAll(dir, run.Result.Config, run.Result, run);
            if (json) { Cli.WriteJson(report); return Cli.ExitOk; }
            TrainCommand.RenderSummary(run.Result.Config, run.Result, dir, run);
            return Cli.ExitOk;
        });
        cmd.Add(list);
        cmd.Add(show);
        cmd.Add(resume);
        cmd.Add(ServerOnly("watch", "Follow a running experiment's steps live (on a node).", (c, id, _, json, ct) => QaActors.Cli.Client.ServerExperiments.WatchAsync(c, id, json, ct)));
        cmd.Add(ServerOnly("cancel", "Stop an experiment after the step in progress (on a node; persisted steps stay).", (c, id, _, json, ct) => QaActors.Cli.Client.ServerExperiments.CancelAsync(c, id, json, ct)));
        cmd.Add(ServerOnly("download", "Fetch an experiment's artefacts (model, metrics, curves, report) from the node into --out.", (c, id, o, json, ct) =>
            QaActors.Cli.Client.ServerExperiments.DownloadAsync(c, id, o ?? throw new UsageException("--out DIR is required: where to put the artefacts."), json, ct), withOut: true));
        return cmd;
    }

    private static Command ServerOnly(string name, string description, Func<QaActors.Cli.Client.QaClient, string, string?, bool, CancellationToken, Task<int>> run, bool withOut = false)
    {
        var c = new Command(name, description);
        var id = new Argument<string>("id");
        c.Add(id);
        var outDir = new Option<string?>("--out") { Description = "Folder for the artefacts." };
        if (withOut) c.Add(outDir);
        var o = new StoreOptions();
        o.AddTo(c);
        c.SetAction(async (pr, ct) =>
        {
            using var client = o.Client(pr) ?? throw new UsageException($"`qa experiment {name}` talks to a node: give --server URL (or QA_SERVER), or run it on the data dir of a running `qa node`.");
            return await run(client, pr.GetValue(id)!, withOut ? pr.GetValue(outDir) : null, pr.GetValue(o.Json), ct);
        });
        return c;
    }

    private static string State(ExperimentSummary s) => s.Completed ? "completed" : s.Running ? "running" : "stopped";

    /// <summary>The experiment's data task, or null if its spec cannot be read as one (a foreign procedure).</summary>
    private static PairTaskRef? TaskOf(ExperimentSpec spec)
    {
        try { return LearningProcedure.ParseTask(spec.TaskJson); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException) { return null; }
    }

    private static TrainingConfig? ConfigOf(ExperimentSpec spec)
    {
        try { return LearningProcedure.ParseConfig(spec.ConfigJson); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException) { return null; }
    }

    /// <summary>`qa experiment show` for people: settings, progress, outcome and provenance, then the recorded curve.</summary>
    private static void RenderShow(ExperimentSummary s)
    {
        var spec = s.Spec;
        var task = TaskOf(spec);
        var c = ConfigOf(spec);
        string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        var t = new Table().Title(Markup.Escape(spec.ExperimentId)).HideHeaders().AddColumn("k").AddColumn("v");
        t.AddRow("state", $"{State(s)}, step {s.LastStep} of {spec.TotalSteps}");
        if (task is not null)
        {
            t.AddRow("dataset", Markup.Escape(task.Dataset));
            t.AddRow("classes", $"{task.ClassA},{task.ClassB}");
            t.AddRow("train / test size", Markup.Escape($"{task.TrainSize} / {task.TestSize}"));
        }
        t.AddRow("method", Markup.Escape(spec.Method) + (spec.Method == "qpu" && spec.Solver.Length > 0 ? Markup.Escape($" (solver {spec.Solver})") : ""));
        if (c is not null)
        {
            t.AddRow("hidden", c.Hidden.ToString(CultureInfo.InvariantCulture));
            t.AddRow("lr / batch", $"{F(c.LearningRate)} / {c.Batch}");
            if (c.Method.NeedsSampler())
            {
                t.AddRow("t-eff", F(c.TEff));
                t.AddRow("reads / sweeps", $"{c.Reads} / {(c.Sweeps?.ToString(CultureInfo.InvariantCulture) ?? "default")}");
            }
        }
        t.AddRow("seed", spec.Seed.ToString(CultureInfo.InvariantCulture));
        t.AddRow("fallback", Markup.Escape(spec.Fallback));
        t.AddRow("user", Markup.Escape(spec.User));
        t.AddRow("created", spec.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        if (QaTraining.OutputFolderOf(spec) is { } outDir) t.AddRow("output", Markup.Escape(outDir));
        var p = s.Totals;
        if (p.SamplerCounts.Count > 0) t.AddRow("samples served by", Markup.Escape(string.Join(", ", p.SamplerCounts.Select(kv => $"{kv.Key} {kv.Value}"))));
        if (p.FallbackReasons.Count > 0) t.AddRow("fallbacks", Markup.Escape(string.Join(", ", p.FallbackReasons.Select(kv => $"{kv.Key} {kv.Value}"))));
        if (p.QpuAccessMicros > 0) t.AddRow("QPU access time", $"{p.QpuAccessMicros / 1e6:F3} s");
        AnsiConsole.Write(t);
        if (s.History.Length == 0) return;
        var h = new Table().AddColumn("step").AddColumn("train loss").AddColumn("test accuracy").AddColumn("EBM test accuracy");
        foreach (var row in s.History)
            h.AddRow(row.Step.ToString(CultureInfo.InvariantCulture), Cell(row.Get("train_loss")), Cell(row.Get("test_accuracy")), Cell(row.Get("ebm_test_accuracy")));
        AnsiConsole.Write(h);
    }

    private static string Cell(double? v) => v is double d ? d.ToString("F4", CultureInfo.InvariantCulture) : "-";

    private static JsonObject Summary(ExperimentSummary s) => new()
    {
        ["experiment_id"] = s.Spec.ExperimentId,
        ["method"] = s.Spec.Method,
        ["fallback"] = s.Spec.Fallback,
        ["user"] = s.Spec.User,
        ["solver"] = s.Spec.Solver,
        ["seed"] = s.Spec.Seed,
        ["dataset"] = TaskOf(s.Spec)?.Dataset,
        ["classes"] = TaskOf(s.Spec) is { } t ? new JsonArray(t.ClassA, t.ClassB) : null,
        ["settings"] = ConfigOf(s.Spec) is { } c ? System.Text.Json.Nodes.JsonNode.Parse(s.Spec.ConfigJson) : null,
        ["out"] = QaTraining.OutputFolderOf(s.Spec),
        ["last_step"] = s.LastStep,
        ["total_steps"] = s.Spec.TotalSteps,
        ["completed"] = s.Completed,
        ["running"] = s.Running,
        ["created_at"] = s.Spec.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
        ["test_accuracy"] = s.History.Length > 0 ? s.History[^1].Get("test_accuracy") : null,
        ["provenance"] = TrainCommand.ProvenanceJson(s.Totals),
    };

    public static Command Quota()
    {
        var cmd = new Command("quota", "Per-user QPU-time quotas (persisted; charged with each answer's qpu_access_time).");
        var show = new Command("show", "Quota, charged and remaining QPU time per user.");
        var user = new Argument<string?>("user") { Arity = ArgumentArity.ZeroOrOne };
        show.Add(user);
        var so = new StoreOptions();
        so.AddTo(show);
        show.SetAction(async (pr, ct) =>
        {
            using (var client = so.Client(pr)) if (client is not null) return await QaActors.Cli.Client.ServerExperiments.QuotaAsync(client, pr.GetValue(user), null, pr.GetValue(so.Json), ct);
            return Render(await QaTraining.QuotaShowAsync(pr.GetValue(user), so.Options(pr), ct), pr.GetValue(so.Json));
        });
        var set = new Command("set", "Set a user's QPU-time quota in seconds.");
        var setUser = new Argument<string>("user");
        var seconds = new Argument<double>("seconds");
        set.Add(setUser);
        set.Add(seconds);
        var sto = new StoreOptions();
        sto.AddTo(set);
        set.SetAction(async (pr, ct) =>
        {
            if (string.IsNullOrWhiteSpace(pr.GetValue(setUser)))
                throw new UsageException("USER is empty; name the user whose QPU-time quota to set, for example `qa quota set alice 2.5`.");
            CommonOptions.RequireRange(pr.GetValue(seconds), "SECONDS", 0, 1e9);
            using (var client = sto.Client(pr)) if (client is not null) return await QaActors.Cli.Client.ServerExperiments.QuotaAsync(client, pr.GetValue(setUser), pr.GetValue(seconds), pr.GetValue(sto.Json), ct);
            return Render(await QaTraining.QuotaSetAsync(pr.GetValue(setUser)!, pr.GetValue(seconds), sto.Options(pr), ct), pr.GetValue(sto.Json));
        });
        cmd.Add(show);
        cmd.Add(set);
        return cmd;
    }

    private static int Render(QuotaReport r, bool json)
    {
        if (json)
        {
            Cli.WriteJson(new JsonObject
            {
                ["users"] = new JsonArray(r.Accounts.Select(a => (JsonNode)new JsonObject
                {
                    ["user"] = a.User, ["quota_seconds"] = a.LimitSeconds, ["charged_seconds"] = a.ChargedSeconds,
                    ["reserved_seconds"] = a.ReservedSeconds, ["remaining_seconds"] = a.RemainingSeconds, ["from_configuration"] = a.LimitFromConfiguration,
                }).ToArray()),
            });
            return Cli.ExitOk;
        }
        var t = new Table().AddColumn("user").AddColumn("quota (s)").AddColumn("charged (s)").AddColumn("reserved (s)").AddColumn("remaining (s)");
        foreach (var a in r.Accounts)
            t.AddRow(Markup.Escape(a.User), a.LimitSeconds.ToString("F3", CultureInfo.InvariantCulture), a.ChargedSeconds.ToString("F3", CultureInfo.InvariantCulture),
                a.ReservedSeconds.ToString("F3", CultureInfo.InvariantCulture), a.RemainingSeconds.ToString("F3", CultureInfo.InvariantCulture));
        AnsiConsole.Write(t);
        return Cli.ExitOk;
    }
}
