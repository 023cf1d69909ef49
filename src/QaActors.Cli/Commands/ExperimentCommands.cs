using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Orchestration;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
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

        public void AddTo(Command c) { c.Add(Db); c.Add(Config); c.Add(DataDir); c.Add(Json); }

        public RunOptions Options(ParseResult pr) => CommonOptions.Store(pr, Db, Config, DataDir);
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
            var all = await QaTraining.ListAsync(lo.Options(pr), ct);
            if (pr.GetValue(lo.Json)) { Cli.WriteJson(new JsonArray(all.Select(s => (JsonNode)Summary(s)).ToArray())); return Cli.ExitOk; }
            var t = new Table().AddColumn("experiment").AddColumn("method").AddColumn("user").AddColumn("steps").AddColumn("test accuracy").AddColumn("state");
            foreach (var s in all)
                t.AddRow(Markup.Escape(s.Spec.ExperimentId), s.Spec.Method, Markup.Escape(s.Spec.User), $"{s.LastStep}/{s.Spec.TotalSteps}",
                    s.History.Length > 0 && s.History[^1].Get("test_accuracy") is double a ? a.ToString("F4", CultureInfo.InvariantCulture) : "-",
                    s.Completed ? "completed" : s.Running ? "running" : "stopped");
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
            var s = await QaTraining.ShowAsync(pr.GetValue(showId)!, so.Options(pr), ct);
            var j = Summary(s);
            j["history"] = new JsonArray(s.History.Select(h => (JsonNode)new JsonObject(
                new[] { KeyValuePair.Create("step", (JsonNode?)h.Step) }.Concat(h.Values.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))))).ToArray());
            if (pr.GetValue(so.Json)) { Cli.WriteJson(j); return Cli.ExitOk; }
            AnsiConsole.WriteLine(j.ToJsonString(Cli.JsonOptions));
            return Cli.ExitOk;
        });
        var resume = new Command("resume", "Continue an experiment from its last persisted step (classical samplers; a QPU run resumes with `qa train --out` and its QPU options).");
        var resumeId = new Argument<string>("id");
        var outDir = new Option<string?>("--out") { Description = "Where to write the model and metrics (default runs/<id>)." };
        resume.Add(resumeId);
        resume.Add(outDir);
        var ro = new StoreOptions();
        ro.AddTo(resume);
        resume.SetAction(async (pr, ct) =>
        {
            string id = pr.GetValue(resumeId)!;
            var run = await QaTraining.ResumeAsync(id, ro.Options(pr), null, ct);
            string dir = Path.GetFullPath(pr.GetValue(outDir) ?? Path.Combine("runs", id));
            Directory.CreateDirectory(dir);
            string model = TrainCommand.WriteOutputs(dir, run.Result.Config, run.Result);
            var report = TrainCommand.Report(run.Result.Config, run.Result, model, dir, run);
            if (pr.GetValue(ro.Json)) { Cli.WriteJson(report); return Cli.ExitOk; }
            AnsiConsole.MarkupLineInterpolated($"{id}: resumed from step {run.Experiment.ResumedFromStep}, now at step {run.Result.State.Step}; test accuracy {run.Result.Final.TestAccuracy:F4}; output {dir}");
            return Cli.ExitOk;
        });
        cmd.Add(list);
        cmd.Add(show);
        cmd.Add(resume);
        return cmd;
    }

    private static JsonObject Summary(ExperimentSummary s) => new()
    {
        ["experiment_id"] = s.Spec.ExperimentId,
        ["method"] = s.Spec.Method,
        ["fallback"] = s.Spec.Fallback,
        ["user"] = s.Spec.User,
        ["solver"] = s.Spec.Solver,
        ["seed"] = s.Spec.Seed,
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
        show.SetAction(async (pr, ct) => Render(await QaTraining.QuotaShowAsync(pr.GetValue(user), so.Options(pr), ct), pr.GetValue(so.Json)));
        var set = new Command("set", "Set a user's QPU-time quota in seconds.");
        var setUser = new Argument<string>("user");
        var seconds = new Argument<double>("seconds");
        set.Add(setUser);
        set.Add(seconds);
        var sto = new StoreOptions();
        sto.AddTo(set);
        set.SetAction(async (pr, ct) =>
        {
            CommonOptions.RequireRange(pr.GetValue(seconds), "SECONDS", 0, 1e9);
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
