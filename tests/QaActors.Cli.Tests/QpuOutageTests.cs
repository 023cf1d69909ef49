using System.Diagnostics;
using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>
/// Issue 3: an injected outage during `qa sample --sampler qpu` ends in the typed error and a clear message, never a
/// hang. The simulator runs as its own `qa sapi-sim` process on 127.0.0.1 with an HTTP 503 outage from the start.
/// </summary>
public class QpuOutageTests
{
    [Fact]
    public void OutageGivesAClearErrorWithinTheDeadline()
    {
        string dir = Directory.CreateTempSubdirectory("qa-outage").FullName;
        string problem = Path.Combine(dir, "p.json");
        File.WriteAllText(problem, """{"vartype":"SPIN","linear":[[0,0.5],[1,-0.3]],"quadratic":[[0,1,-1.0]],"offset":0}""");
        using var sim = Process.Start(QaProcess.StartInfo(["sapi-sim", "--port", "0", "--outage", "http-503", "--outage-duration", "120"]))!;
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
            var watch = Stopwatch.StartNew();
            var r = QaProcess.Run(["sample", "--problem", problem, "--sampler", "qpu", "--qpu-deadline", "20"],
                new Dictionary<string, string> { ["DWAVE_API_ENDPOINT"] = endpoint!, ["DWAVE_API_TOKEN"] = "sim-token" },
                TimeSpan.FromSeconds(120));
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("503", r.Stderr);
            Assert.Contains("cannot serve now", r.Stderr);
            Assert.Equal("", r.Stdout.Trim());
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(110), $"took {watch.Elapsed}");
        }
        finally
        {
            sim.Kill(entireProcessTree: true);
            sim.WaitForExit();
            Directory.Delete(dir, recursive: true);
        }
    }
}
