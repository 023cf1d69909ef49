using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>
/// Issue 12, output and files: what `qa train`, `qa experiment` and an interrupted run leave behind and say, as a
/// user sees it (real processes, piped output). Needs the mnist cache (deploy/test.sh fetches it).
/// </summary>
public sealed class OutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qa-output").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Db => Path.Combine(_dir, "qa.db");

    private string[] Train(string outDir, int steps, int sweeps = 10, int reads = 5) =>
    [
        "train", "--dataset", "mnist", "--classes", "0,1", "--method", "gibbs", "--hidden", "8", "--train-size", "10", "--test-size", "10",
        "--reads", reads.ToString(System.Globalization.CultureInfo.InvariantCulture), "--sweeps", sweeps.ToString(System.Globalization.CultureInfo.InvariantCulture), "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--out", outDir, "--db", Db,
    ];

    private static readonly string[] RunFiles = ["model.safetensors", "metrics.csv", "curves.png", "report.json"];

    [Fact]
    public void EveryOutputModeWritesEveryFileAndARepeatSaysItContinues()
    {
        string human = Path.Combine(_dir, "human"), json = Path.Combine(_dir, "json");
        var h = QaProcess.Run(Train(human, 2));
        Assert.True(h.ExitCode == 0, h.Stderr);
        var j = QaProcess.Run([.. Train(json, 2), "--json"]);
        Assert.True(j.ExitCode == 0, j.Stderr);
        foreach (var dir in new[] { human, json })
            foreach (var f in RunFiles) Assert.True(File.Exists(Path.Combine(dir, f)), $"{f} missing in {dir}");
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(human, "report.json")))!;
        Assert.Equal(2, (int)report["steps"]!);
        Assert.NotNull(report["experiment_id"]);

        // The same command again: it says before anything else that the experiment exists and is complete.
        var again = QaProcess.Run(Train(human, 2));
        Assert.True(again.ExitCode == 0, again.Stderr);
        string firstLines = string.Join("\n", again.Stdout.Split('\n').Take(3));
        Assert.Contains("already completed its 2 steps", firstLines);
    }

    /// <summary>
    /// Ctrl-C's SIGINT, unless this process ignores SIGINT (as a background job of a non-interactive shell does, and
    /// passes on to its children, whose runtime then keeps ignoring it): then SIGTERM, which the command handles the
    /// same way (Cli.RunAsync), so that the test checks the command and not how it was started.
    /// </summary>
    private static string InterruptSignal()
    {
        var line = File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal)) : null;
        bool ignored = line is not null && (ulong.Parse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) & (1UL << 1)) != 0;
        return ignored ? "-TERM" : "-INT";
    }

    [Fact]
    public async Task CtrlCNamesTheStepAndTheCommandAndResumeGoesBackToTheOriginalOut()
    {
        string outDir = Path.Combine(_dir, "interrupted");
        // Enough slow steps (sweeps) that SIGINT lands mid-run even on a loaded machine, where the signal's way through
        // the command to the trainer can take longer than a step: about 0.1 s each, 40 of them.
        var psi = QaProcess.StartInfo([.. Train(outDir, 40, sweeps: 20000, reads: 100), "--json"]);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var err = new System.Text.StringBuilder();
        string? line;
        bool signalled = false;
        try
        {
            while ((line = p.StandardError.ReadLine()) != null)
            {
                err.AppendLine(line);
                if (!signalled && Regex.IsMatch(line, @"^qa: step [2-9]/40 persisted"))
                {
                    using var kill = Process.Start("kill", [InterruptSignal(), p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
                    kill.WaitForExit();
                    signalled = true;
                }
            }
            Assert.True(p.WaitForExit(60_000), "qa train did not stop after SIGINT");
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        await stdout;
        Assert.True(signalled, err.ToString());
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}\n{err}");
        var note = Regex.Match(err.ToString(), @"qa: interrupted; step (\d+) of 40 is persisted \(experiment ([\w-]+)\); continue with `qa experiment resume ([\w-]+)`");
        Assert.True(note.Success, err.ToString());
        string id = note.Groups[2].Value;
        Assert.Equal(id, note.Groups[3].Value);
        int stoppedAt = int.Parse(note.Groups[1].Value);
        Assert.InRange(stoppedAt, 2, 39);

        // Resume without --out writes into the experiment's own --out, with a line per step, and says where it began.
        var resumed = QaProcess.Run(["experiment", "resume", id, "--db", Db, "--json"]);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        // The step in progress at the signal may still finish and persist, so the resume starts at or after the note's step.
        var from = Regex.Match(resumed.Stderr, @"continuing from persisted step (\d+) of 40");
        Assert.True(from.Success, resumed.Stderr);
        Assert.InRange(int.Parse(from.Groups[1].Value), stoppedAt, 39);
        Assert.Contains("qa: step 40/40 persisted", resumed.Stderr);
        var report = JsonNode.Parse(resumed.Stdout)!;
        Assert.Equal(Path.GetFullPath(outDir), (string)report["out"]!);
        foreach (var f in RunFiles) Assert.True(File.Exists(Path.Combine(outDir, f)), $"{f} missing");

        // Once complete there is nothing to train, and it says so (the files are written again, e.g. after a full disk).
        File.Delete(Path.Combine(outDir, "model.safetensors"));
        var done = QaProcess.Run(["experiment", "resume", id, "--db", Db]);
        Assert.True(done.ExitCode == 0, done.Stderr);
        Assert.Contains("already completed its 40 steps; nothing to train", Regex.Replace(done.Stdout, @"\s+", " "));
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
    }

    [Fact]
    public void ListKeepsLongIdsWholeWhenPipedAndShowHasAHumanView()
    {
        string outDir = Path.Combine(_dir, "a-rather-long-output-folder-name-for-the-tour");
        var t = QaProcess.Run([.. Train(outDir, 1), "--json"]);
        Assert.True(t.ExitCode == 0, t.Stderr);
        string id = (string)JsonNode.Parse(t.Stdout)!["experiment_id"]!;
        Assert.True(id.Length > 40, id);

        var list = QaProcess.Run(["experiment", "list", "--db", Db]);
        Assert.True(list.ExitCode == 0, list.Stderr);
        var row = list.Stdout.Split('\n').SingleOrDefault(l => l.Contains(id));
        Assert.True(row is not null, $"id {id} is not whole on one line:\n{list.Stdout}");
        Assert.Contains("mnist", row);
        Assert.Contains("0,1", row);
        Assert.Contains("dataset", list.Stdout);
        Assert.Contains("classes", list.Stdout);

        var show = QaProcess.Run(["experiment", "show", id, "--db", Db]);
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.DoesNotContain("{", show.Stdout);
        foreach (var want in new[] { "dataset", "mnist", "classes", "0,1", "method", "gibbs", "lr / batch", "0.1 / 5", "hidden", "seed", "t-eff", Path.GetFullPath(outDir) })
            Assert.Contains(want, show.Stdout);
        var showJson = JsonNode.Parse(QaProcess.Run(["experiment", "show", id, "--db", Db, "--json"]).Stdout)!;
        Assert.Equal("mnist", (string)showJson["dataset"]!);
        Assert.Equal(8, (int)showJson["settings"]!["Hidden"]!);
    }

    [Fact]
    public void EvalWarnsWhenTheModelWasTrainedOnOtherClasses()
    {
        string outDir = Path.Combine(_dir, "direct");
        var t = QaProcess.Run([.. Train(outDir, 1), "--engine", "direct"]);
        Assert.True(t.ExitCode == 0, t.Stderr);
        string model = Path.Combine(outDir, "model.safetensors");
        var same = QaProcess.Run(["eval", "--model", model, "--dataset", "mnist", "--classes", "0,1"]);
        Assert.True(same.ExitCode == 0, same.Stderr);
        Assert.DoesNotContain("warning", same.Stderr);
        var other = QaProcess.Run(["eval", "--model", model, "--dataset", "mnist", "--classes", "1,7"]);
        Assert.True(other.ExitCode == 0, other.Stderr);
        Assert.Contains("qa: warning: --model", other.Stderr);
        Assert.Contains("trained on mnist classes 0,1", other.Stderr);
    }

    [Fact]
    public void NoLightningDbFilesShipWithQa()
    {
        // Issue 12: LightningDB backs only durable ddata, which hocon/akka.conf keeps off (Directory.Build.props).
        string bin = AppContext.BaseDirectory;
        Assert.True(File.Exists(Path.Combine(bin, "qa.dll")));
        Assert.False(File.Exists(Path.Combine(bin, "LightningDB.dll")));
        Assert.Empty(Directory.EnumerateFiles(bin, "*lmdb*", SearchOption.AllDirectories));
    }
}
