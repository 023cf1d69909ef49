using System.Diagnostics;
using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>`qa sapi-sim` as a real process stops cleanly on SIGTERM (kill, docker stop, a script's trap) within 2 s.</summary>
public class SapiSimSignalTests
{
    [Fact]
    public async Task Sigterm_StopsTheSimulatorWithinTwoSeconds_ExitZero_WithItsUsageReport()
    {
        using var sim = Process.Start(QaProcess.StartInfo(["sapi-sim", "--port", "0"]))!;
        var stderr = sim.StandardError.ReadToEndAsync();
        try
        {
            string? endpoint = null;
            var until = DateTime.UtcNow.AddSeconds(90);
            while (endpoint is null && DateTime.UtcNow < until)
            {
                string? line = await sim.StandardOutput.ReadLineAsync();
                if (line is null) break;
                var m = Regex.Match(line, @"http://127\.0\.0\.1:\d+/sapi/v2/");
                if (m.Success) endpoint = m.Value;
            }
            Assert.NotNull(endpoint);
            var rest = sim.StandardOutput.ReadToEndAsync();

            // Serving (with a client connection kept alive) when the signal comes.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            using var req = new HttpRequestMessage(HttpMethod.Get, endpoint + "solvers/remote/?filter=none,%2Bidentity");
            req.Headers.Add("X-Auth-Token", "sim-token");
            using var ok = await http.SendAsync(req);
            Assert.Equal(200, (int)ok.StatusCode);

            var watch = Stopwatch.StartNew();
            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", sim.Id.ToString()]) { UseShellExecute = false })!)
                await kill.WaitForExitAsync();
            bool exited = sim.WaitForExit(TimeSpan.FromSeconds(2));
            var took = watch.Elapsed;
            Assert.True(exited, $"qa sapi-sim still running {took.TotalSeconds:F1} s after SIGTERM");
            await sim.WaitForExitAsync();
            Assert.Equal(0, sim.ExitCode);
            string tail = await rest;
            Assert.Contains("token #1:", tail);
            Assert.DoesNotContain("Unhandled", await stderr);
        }
        finally
        {
            if (!sim.HasExited) sim.Kill(entireProcessTree: true);
            sim.WaitForExit();
        }
    }
}
