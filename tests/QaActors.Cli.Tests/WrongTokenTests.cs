using System.Diagnostics;
using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>
/// Issue 12: a token the endpoint refuses is the user's setting: exit 2 and one line naming the settings qa really
/// takes (there is no --token flag on sample or train), never the token itself.
/// </summary>
public class WrongTokenTests
{
    [Fact]
    public void ARefusedTokenExitsTwoNamingTheRealSettings()
    {
        string dir = Directory.CreateTempSubdirectory("qa-token").FullName;
        using var sim = Process.Start(QaProcess.StartInfo(["sapi-sim", "--port", "0"]))!;
        try
        {
            string? endpoint = null;
            var until = DateTime.UtcNow.AddSeconds(90);
            while (endpoint is null && DateTime.UtcNow < until)
            {
                string? line = sim.StandardOutput.ReadLine();
                if (line is null) break;
                var m = Regex.Match(line, @"http://127\.0\.0\.1:\d+/sapi/v2/");
                if (m.Success) endpoint = m.Value;
            }
            Assert.NotNull(endpoint);
            var r = QaProcess.Run(["sample", "--problem", Path.Combine(ReadmeTourTests.RepositoryRoot(), "examples", "p.json"), "--sampler", "qpu"],
                new Dictionary<string, string> { ["DWAVE_API_ENDPOINT"] = endpoint!, ["DWAVE_API_TOKEN"] = "not-the-sim-token-4711" });
            var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.Stderr}");
            Assert.True(lines.Length == 1, r.Stderr);
            Assert.Contains("refused the API token", lines[0]);
            Assert.Contains("DWAVE_API_TOKEN", lines[0]);
            Assert.DoesNotContain("--token", lines[0]);
            Assert.DoesNotContain("4711", r.Stderr + r.Stdout);
        }
        finally
        {
            sim.Kill(entireProcessTree: true);
            sim.WaitForExit();
            Directory.Delete(dir, recursive: true);
        }
    }
}
