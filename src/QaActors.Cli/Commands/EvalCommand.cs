using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using QaActors.Data;
using QaActors.Learning;
using Spectre.Console;

namespace QaActors.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A model file written by qa train (safetensors).", Required = true };
        var dataset = CommonOptions.Dataset();
        var classes = CommonOptions.Classes();
        var split = new Option<string>("--split") { Description = "train | test | all (all: every image of the two classes).", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("train", "test", "all");
        var dataDir = CommonOptions.DataDir();
        var json = CommonOptions.Json();
        var cmd = new Command("eval", "Evaluate a model as MLP and as EBM on a class pair.") { model, dataset, classes, split, dataDir, json };
        cmd.SetAction(pr =>
        {
            string path = pr.GetValue(model)!;
            ModelFileContent content;
            try { content = ModelFile.Read(path); }
            catch (Exception ex) when (ex is ModelFormatException or FileNotFoundException or DirectoryNotFoundException)
            {
                throw new UsageException($"--model {path}: {ex.Message} Give a file written by `qa train` (model.safetensors in its --out folder).");
            }
            var spec = DatasetSpec.Parse(pr.GetValue(dataset));
            var (a, b) = PairTask.ParseClasses(pr.GetValue(classes));
            var which = pr.GetValue(split) switch { "train" => DataSplit.Train, "all" => DataSplit.All, _ => DataSplit.Test };
            var set = PairTask.LoadAll(spec, a, b, which, pr.GetValue(dataDir));
            if (set.Features != content.Parameters.Inputs)
                throw new UsageException($"--model {path} takes {content.Parameters.Inputs} inputs but {spec.Name} images have {set.Features}; evaluate it on the dataset it was trained on.");
            // Evaluating on other data is legitimate (transfer), so it is a warning, but it is rarely what was meant.
            string asked = $"{spec.Name} classes {a},{b}";
            string trained = $"{content.Metadata.GetValueOrDefault("dataset", "?")} classes {content.Metadata.GetValueOrDefault("classes", "?")}";
            if (content.Metadata.ContainsKey("dataset") && trained != asked)
                Console.Error.WriteLine($"qa: warning: --model {path} was trained on {trained} (its metadata), not on {asked}; its accuracy here is not its test accuracy.");
            var e = Metrics.Evaluate(content.Parameters, set);
            var report = new JsonObject
            {
                ["model"] = Path.GetFullPath(path),
                ["dataset"] = spec.Name,
                ["classes"] = new JsonArray(a, b),
                ["split"] = pr.GetValue(split),
                ["count"] = e.Count,
                ["accuracy"] = e.Accuracy,
                ["ebm_accuracy"] = e.EbmAccuracy,
                ["cross_entropy"] = e.CrossEntropy,
                ["ebm_log_likelihood"] = e.EbmLogLikelihood,
                ["metadata"] = new JsonObject(content.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            };
            if (pr.GetValue(json)) { Cli.WriteJson(report); return Cli.ExitOk; }
            var t = new Table().Title($"{Markup.Escape(Path.GetFileName(path))} on {Markup.Escape(spec.Name)} {a},{b} ({pr.GetValue(split)}: {e.Count} images)").HideHeaders().AddColumn("k").AddColumn("v");
            t.AddRow("MLP accuracy", e.Accuracy.ToString("F4", CultureInfo.InvariantCulture));
            t.AddRow("EBM accuracy", e.EbmAccuracy.ToString("F4", CultureInfo.InvariantCulture));
            t.AddRow("MLP cross-entropy", e.CrossEntropy.ToString("F4", CultureInfo.InvariantCulture));
            t.AddRow("EBM log P(y|x)", e.EbmLogLikelihood.ToString("F4", CultureInfo.InvariantCulture));
            AnsiConsole.Write(t);
            return Cli.ExitOk;
        });
        return cmd;
    }
}
