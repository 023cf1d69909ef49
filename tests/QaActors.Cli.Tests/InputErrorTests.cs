using System.Diagnostics;

namespace QaActors.Cli.Tests;

/// <summary>
/// Issue 12, errors: every bad input exits 2 with one line that names the input and the fix, and no .NET text or stack
/// trace. Runs the real `qa`; the training cases load the mnist cache (deploy/test.sh fetches it) before their checks.
/// </summary>
public sealed class InputErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qa-input").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Train =
        ["train", "--dataset", "mnist", "--classes", "0,1", "--method", "gibbs", "--hidden", "8", "--train-size", "10", "--test-size", "10", "--reads", "5", "--sweeps", "10"];

    /// <summary>Runs qa and checks the shape every usage error must have; returns the one line.</summary>
    private static string UsageLine(IEnumerable<string> args, params string[] expected)
    {
        var r = QaProcess.Run(args);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("training", StringComparison.Ordinal)).ToArray(); // a progress line may precede it
        string all = string.Join("\n", lines);
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");
        Assert.True(lines.Length == 1, $"expected one line, got:\n{all}");
        Assert.StartsWith("qa: ", lines[0]);
        foreach (var e in expected) Assert.Contains(e, lines[0]);
        Assert.DoesNotContain("Exception", all);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("System.", all);
        return lines[0];
    }

    private string Db => Path.Combine(_dir, "qa.db");

    [Fact]
    public void NonIntegerStepsSayAnInteger() =>
        UsageLine([.. Train, "--steps", "abc"], "--steps", "abc", "an integer");

    [Fact]
    public void OptionalNumbersAndSeedsAreNamedInWords()
    {
        UsageLine(["sample", "--problem", "p.json", "--sampler", "gibbs", "--sweeps", "x"], "--sweeps", "'x'", "as an integer");
        UsageLine([.. Train, "--seed", "-1"], "--seed", "a whole number 0 or more");
    }

    [Fact]
    public void AnUnknownExperimentIdPointsToTheList()
    {
        UsageLine(["experiment", "show", "no-such-id", "--db", Db], "'no-such-id' does not exist", "qa experiment list");
        UsageLine(["experiment", "resume", "no-such-id", "--db", Db], "'no-such-id' does not exist", "qa experiment list");
    }

    [Fact]
    public void ZeroStepsAreRefused() => UsageLine([.. Train, "--steps", "0", "--db", Db], "--steps 0", "1..");

    [Fact]
    public void ABatchLargerThanTheTrainingSetIsRefused() =>
        UsageLine([.. Train, "--batch", "11", "--steps", "1", "--db", Db], "--batch 11", "10 images", "--train-size");

    [Fact]
    public void OutThatIsAFileIsRefusedBeforeTraining()
    {
        string file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "x");
        UsageLine([.. Train, "--steps", "1", "--db", Db, "--out", file], "--out", "is a file");
        UsageLine([.. Train, "--steps", "1", "--db", Db, "--out", Path.Combine(file, "sub")], "--out", "is a file");
        // /proc refuses new entries even to root, so this holds on CI too.
        UsageLine([.. Train, "--steps", "1", "--db", Db, "--out", "/proc/qa-no-such-run"], "--out /proc/qa-no-such-run", "cannot create or write");
        Assert.False(File.Exists(Db), "the journal was touched although --out was refused first");
    }

    [Fact]
    public void AnOutReusedWithOtherSettingsNamesTheDifference()
    {
        string outDir = Path.Combine(_dir, "run");
        var first = QaProcess.Run([.. Train, "--steps", "2", "--db", Db, "--out", outDir, "--json"]);
        Assert.True(first.ExitCode == 0, first.Stderr);
        UsageLine([.. Train, "--steps", "3", "--lr", "0.2", "--db", Db, "--out", outDir], "steps 2 (this command: 3)", "lr 0.1 (this command: 0.2)", "another --out");
    }

    [Fact]
    public void AnUnreachablePostgresqlFailsFastNamingDbAndTheHost()
    {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        var watch = Stopwatch.StartNew();
        string line = UsageLine(["experiment", "list", "--db", "Host=127.0.0.1;Port=1;Database=qa;Username=qa;Password=hunter2"], "--db", "127.0.0.1:1", "PostgreSQL");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.DoesNotContain("hunter2", line);
    }

    [Fact]
    public void BadSqliteDbValuesAreNamed()
    {
        string text = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(text, "not a database\n");
        UsageLine(["experiment", "list", "--db", "garbage;;;==@@"], "--db", "neither a SQLite file path nor a connection string");
        UsageLine(["experiment", "list", "--db", _dir], "--db", "is a folder", "qa.db");
        UsageLine(["experiment", "list", "--db", text], "--db", "not a SQLite database");
        UsageLine(["experiment", "list", "--db", Path.Combine(_dir, "missing", "qa.db")], "--db", "does not exist");
    }

    [Fact]
    public void MalformedHoconAndUnknownOrIllTypedKeysAreNamed()
    {
        string Conf(string name, string text)
        {
            string p = Path.Combine(_dir, name);
            File.WriteAllText(p, text);
            return p;
        }
        string db = Db;
        UsageLine(["quota", "show", "--db", db, "--config", Conf("open.conf", "qa {\n  trainer {\n    max-step-attempts = 3\n")], "open.conf", "'{' opened on line 2 is never closed");
        UsageLine(["quota", "show", "--db", db, "--config", Conf("level.conf", "akka.loglevel = DEBUGG\n")], "akka.loglevel", "DEBUGG", "WARNING");
        UsageLine(["quota", "show", "--db", db, "--config", Conf("typo.conf", "qa.trainer.max-step-atempts = 3\n")], "qa.trainer.max-step-atempts", "unknown key", "qa.trainer.max-step-attempts");
        UsageLine(["quota", "show", "--db", db, "--config", Conf("type.conf", "qa.trainer.max-step-attempts = lots\n")], "qa.trainer.max-step-attempts", "integer", "'lots'");
        UsageLine(["sapi-sim", "--set", "sapi-sim.faults.slow-answer = 2s"], "sapi-sim.faults.slow-answer", "unknown key", "sapi-sim.faults.slow-answers");
        UsageLine(["sapi-sim", "--set", "sapi-sim.solvers.mine.topolgy = pegasus"], "sapi-sim.solvers.mine.topolgy", "topology");
        UsageLine(["sapi-sim", "--set", "faults.slow-answers = 2s"], "'faults' is not a sapi-sim setting");
        UsageLine(["sapi-sim", "--config", Conf("sim.conf", "sapi-sim { beta_hw = 4 }\n")], "sapi-sim.beta_hw", "sapi-sim.beta-hw");
        UsageLine(["sapi-sim", "--set", "sapi-sim.faults { slow-answers = 2s"], "never closed");
    }

    [Fact]
    public void AConfigFileLogLevelIsHonoured()
    {
        // The CLI's quiet default must rank below the user's file: INFO shows Akka's start-up lines on stdout.
        string conf = Path.Combine(_dir, "info.conf");
        File.WriteAllText(conf, "akka.loglevel = INFO\n");
        var r = QaProcess.Run(["quota", "show", "--db", Db, "--config", conf]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("[INFO]", r.Stdout + r.Stderr);
        var quiet = QaProcess.Run(["quota", "show", "--db", Db]);
        Assert.DoesNotContain("[INFO]", quiet.Stdout + quiet.Stderr);
    }

    [Fact]
    public void ProblemFilesTopologiesAndQuotaUsersAreChecked()
    {
        string empty = Path.Combine(_dir, "empty.json"), extra = Path.Combine(_dir, "extra.json");
        File.WriteAllText(empty, """{"vartype": "SPIN", "linear": [], "quadratic": []}""");
        File.WriteAllText(extra, """{"vartype": "SPIN", "linear": [[0, 1]], "quadratics": [[0, 1, 1]]}""");
        UsageLine(["sample", "--problem", empty, "--sampler", "gibbs"], "empty.json", "no variables");
        UsageLine(["embed", "--problem", empty], "empty.json", "no variables");
        UsageLine(["sample", "--problem", extra, "--sampler", "exact"], "extra.json", "\"quadratics\" is not known");
        UsageLine(["topology", "pegasus", "1"], "pegasus M must be 2..32");
        var help = QaProcess.Run(["topology", "--help"]);
        Assert.Contains("pegasus 2..32", help.Stdout);
        Assert.True(QaProcess.Run(["topology", "pegasus", "2", "--json"]).ExitCode == 0);
        UsageLine(["quota", "set", "", "1", "--db", Db], "USER is empty", "qa quota set alice");
    }
}
