using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>
/// Issue 12: the README's tour runs as written. Every `$ qa ...` line of README.md runs, in order, in a fresh folder
/// holding the repository's examples/ (as a clone has them), and must succeed; the journal goes to a temporary --db
/// instead of the user's data dir. Only `qa sapi-sim` and `qa node` are left out: they serve until interrupted
/// (QpuOutageTests and NodeTests run them).
/// </summary>
public sealed class ReadmeTourTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qa-tour").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "QaActors.sln"))) return d.FullName;
        throw new InvalidOperationException("QaActors.sln not found above the test assembly");
    }

    [Fact]
    public void EveryTourCommandRunsAsWritten()
    {
        string root = RepositoryRoot();
        Directory.CreateDirectory(Path.Combine(_dir, "examples"));
        foreach (var f in Directory.EnumerateFiles(Path.Combine(root, "examples")))
            File.Copy(f, Path.Combine(_dir, "examples", Path.GetFileName(f)));
        var commands = File.ReadLines(Path.Combine(root, "README.md"))
            .Where(l => l.StartsWith("$ qa ", StringComparison.Ordinal))
            .SelectMany(l => l[2..].Split("&&", StringSplitOptions.TrimEntries))
            .Select(c => c.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..])
            .Where(a => a[0] is not ("sapi-sim" or "node"))
            .ToList();
        Assert.True(commands.Count >= 8, $"only {commands.Count} tour commands found");
        string db = Path.Combine(_dir, "tour.db");
        foreach (var args in commands)
        {
            var full = args[0] is "train" or "experiment" or "quota" ? [.. args, "--db", db] : args;
            var r = QaProcess.Run(full, workingDirectory: _dir, timeout: TimeSpan.FromMinutes(5));
            Assert.True(r.ExitCode == 0, $"qa {string.Join(' ', args)} exited {r.ExitCode}:\n{r.Stderr}");
            if (args[0] == "sample") Assert.Matches(new Regex(@"│ -3\s+│ \d+\s+│ - - \+"), r.Stdout);
            if (args[0] == "embed") Assert.Contains("549 variables on", r.Stdout);
        }
        Assert.True(File.Exists(Path.Combine(_dir, "runs", "tour", "report.json")));
    }
}
