using System.Diagnostics;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Training;

namespace QaActors.Orchestration.Tests;

/// <summary>Issue 12: malformed HOCON, unknown Akka values and unusable journals are named before anything starts.</summary>
public class ConfigurationCheckTests
{
    [Theory]
    [InlineData("qa {\n  trainer {\n    max-step-attempts = 3\n", "'{' opened on line 2 is never closed")]
    [InlineData("qa.quotas.users = [\"a\"\n", "'[' opened on line 1 is never closed")]
    [InlineData("qa.x = 1\n}\n", "'}' on line 2 closes nothing")]
    [InlineData("qa { a = [1, 2} }", "'}' on line 1 closes nothing")]
    [InlineData("qa.name = \"open\nqa.b = 2", "string opened on line 1")]
    [InlineData("qa.text = \"\"\"never closed", "\"\"\" string opened on line 1")]
    public void UnbalancedTextIsRejectedWithItsLine(string hocon, string expected)
    {
        var e = Assert.Throws<QaConfigException>(() => HoconCheck.RequireBalanced(hocon, "--config f.conf"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("--config f.conf: is not valid HOCON", e.Message);
    }

    [Fact]
    public void BracketsInStringsAndCommentsDoNotCount()
    {
        const string text = """"
            # a comment with { and [
            // another }
            qa { name = "a { b ] c", other = "quote \" { inside", list = ["x}", "y"] }
            qa.block = """a { triple
            string ]"""
            """";
        HoconCheck.RequireBalanced(text, "f");
        Assert.Equal("quote \" { inside", Akka.Configuration.ConfigurationFactory.ParseString(text).GetString("qa.other"));
    }

    [Fact]
    public void AnUnclosedBraceInAConfigFileFailsTheLoad()
    {
        using var dir = new TempDir();
        string file = Path.Combine(dir.Path, "open.conf");
        File.WriteAllText(file, "qa {\n  gateway {\n    max-in-flight = 2\n");
        var e = Assert.Throws<QaConfigException>(() => QaConfig.Load(file, dir.Path));
        Assert.Equal("--config " + file, e.Key);
        Assert.Contains("never closed", e.Message);
    }

    [Theory]
    [InlineData("akka.loglevel = DEBUGG", "akka.loglevel")]
    [InlineData("akka.stdout-loglevel = LOUD", "akka.stdout-loglevel")]
    public void UnknownLogLevelsAreNamed(string hocon, string key)
    {
        using var dir = new TempDir();
        string file = Path.Combine(dir.Path, "l.conf");
        File.WriteAllText(file, hocon);
        var e = Assert.Throws<QaConfigException>(() => QaConfig.Load(file, dir.Path));
        Assert.Equal(key, e.Key);
        Assert.Contains("OFF, ERROR, WARNING, INFO, DEBUG", e.Message);
    }

    [Fact]
    public void AConfigFileLogLevelRanksAboveTheHostsDefaultAndBelowOverrides()
    {
        using var dir = new TempDir();
        string file = Path.Combine(dir.Path, "l.conf");
        File.WriteAllText(file, "akka.loglevel = INFO");
        Assert.Equal("ERROR", QaConfig.Load(null, dir.Path, hostDefaults: "akka.loglevel = ERROR").Akka.GetString("akka.loglevel"));
        Assert.Equal("INFO", QaConfig.Load(file, dir.Path, hostDefaults: "akka.loglevel = ERROR").Akka.GetString("akka.loglevel"));
        Assert.Equal("DEBUG", QaConfig.Load(file, dir.Path, extraHocon: "akka.loglevel = DEBUG", hostDefaults: "akka.loglevel = ERROR").Akka.GetString("akka.loglevel"));
    }

    [Fact]
    public void IllTypedValuesShowTheValueNotDotNetText()
    {
        using var dir = new TempDir();
        string file = Path.Combine(dir.Path, "t.conf");
        File.WriteAllText(file, "qa.trainer.max-step-attempts = lots");
        var e = Assert.Throws<QaConfigException>(() => QaConfig.Load(file, dir.Path));
        Assert.Equal("configuration key 'qa.trainer.max-step-attempts': must be an integer, not 'lots'", e.Message);
    }

    [Fact]
    public void UnknownKeysUnderNamedBlocksAreNamed()
    {
        var defaults = Akka.Configuration.ConfigurationFactory.ParseString("sim {\n solvers { a { name = x, shape = [1] } }\n port = 0\n}");
        HoconCheck.RequireKnownKeys(Akka.Configuration.ConfigurationFactory.ParseString("sim.solvers.mine { name = y, shape = [2] }"), defaults, "sim", "s", namedBlocks: ["sim.solvers"]);
        var e = Assert.Throws<QaConfigException>(() => HoconCheck.RequireKnownKeys(
            Akka.Configuration.ConfigurationFactory.ParseString("sim.solvers.mine.nmae = y"), defaults, "sim", "--set x", namedBlocks: ["sim.solvers"]));
        Assert.Equal("sim.solvers.mine.nmae", e.Key);
        Assert.Contains("name, shape", e.Message);
        var top = Assert.Throws<QaConfigException>(() => HoconCheck.RequireKnownKeys(
            Akka.Configuration.ConfigurationFactory.ParseString("sim.prot = 1"), defaults, "sim", "--set x"));
        Assert.Contains("known keys here: sim.port", top.Message);
    }

    [Fact]
    public void SqliteJournalsThatCannotWorkAreNamed()
    {
        using var dir = new TempDir();
        string text = Path.Combine(dir.Path, "notes.txt");
        File.WriteAllText(text, "hello");
        Assert.Contains("is a folder", Assert.Throws<QaConfigException>(() => JournalCheck.VerifySqlite($"Data Source={dir.Path}", "--db")).Message);
        Assert.Contains("not a SQLite database", Assert.Throws<QaConfigException>(() => JournalCheck.VerifySqlite($"Data Source={text}", "--db")).Message);
        Assert.Contains("does not exist", Assert.Throws<QaConfigException>(() => JournalCheck.VerifySqlite($"Data Source={Path.Combine(dir.Path, "no", "qa.db")}", "--db")).Message);
        var garbage = Assert.Throws<QaConfigException>(() => JournalCheck.VerifySqlite("garbage;;;==@@;Password=pw1", "--db"));
        Assert.Contains("neither a SQLite file path nor a connection string", garbage.Message);
        Assert.DoesNotContain("pw1", garbage.Message);
        Assert.Contains("names no SQLite file", Assert.Throws<QaConfigException>(() => JournalCheck.VerifySqlite("Data Source=:memory:", "--db")).Message);

        // A new file and a journal SQLite wrote are fine.
        string db = Path.Combine(dir.Path, "qa.db");
        JournalCheck.VerifySqlite($"Data Source={db}", "--db");
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE t (x INTEGER)";
            cmd.ExecuteNonQuery();
        }
        JournalCheck.VerifySqlite($"Data Source={db}", "--db");
    }

    [Fact]
    public void AnUnreachablePostgresqlIsNamedWithinSeconds()
    {
        var watch = Stopwatch.StartNew();
        var e = Assert.Throws<QaConfigException>(() => JournalCheck.VerifyPostgres("Host=127.0.0.1;Port=1;Database=qa;Username=qa;Password=hunter2", "--db"));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(JournalCheck.ConnectTimeoutSeconds + 5), $"took {watch.Elapsed}");
        Assert.StartsWith("--db: cannot connect to PostgreSQL at 127.0.0.1:1", e.Message);
        Assert.DoesNotContain("hunter2", e.Message);
        Assert.Contains("has no Host=", Assert.Throws<QaConfigException>(() => JournalCheck.VerifyPostgres("Database=qa;Username=qa", "--db")).Message);
        Assert.Contains("not a PostgreSQL connection string", Assert.Throws<QaConfigException>(() => JournalCheck.VerifyPostgres("Host=h;Bogus Keyword=1", "--db")).Message);
    }

    [Fact]
    public void AReachablePostgresqlPasses()
    {
        string? cs = Environment.GetEnvironmentVariable("QA_TEST_POSTGRES");
        if (string.IsNullOrEmpty(cs))
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI must set QA_TEST_POSTGRES (see .ci/run)");
            return;
        }
        JournalCheck.VerifyPostgres(cs, "--db");
    }

    [Fact]
    public void TheOutputFolderRidesInTheTaskWithoutChangingWhatIsLoaded()
    {
        var task = new PairTaskRef("mnist", 0, 1, "20", "all", 1, null);
        string plain = LearningProcedure.TaskJson(task);
        string withOut = ExperimentOutput.With(plain, "/runs/a");
        Assert.Equal("/runs/a", ExperimentOutput.Of(withOut));
        Assert.Null(ExperimentOutput.Of(plain));
        Assert.Equal(task, LearningProcedure.ParseTask(withOut));
    }
}
