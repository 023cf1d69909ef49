using System.Diagnostics;
using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>
/// Issue 12, no stray processes: SIGTERM (a script's cleanup `kill`) stops qa the way Ctrl-C does. `qa sapi-sim`
/// used to ignore it and outlive the demo that started it.
/// </summary>
public class SignalTests
{
    [Fact]
    public async Task SapiSimStopsOnSigterm()
    {
        using var sim = Process.Start(QaProcess.StartInfo(["sapi-sim", "--port", "0"]))!;
        try
        {
            string? endpoint = null;
            var until = DateTime.UtcNow.AddSeconds(90);
            while (endpoint is null && DateTime.UtcNow < until)
            {
                string? line = sim.StandardOutput.ReadLine();
                if (line is null) break;
                if (Regex.IsMatch(line, @"sapi-sim endpoint: http://127\.0\.0\.1:\d+/")) endpoint = line;
            }
            Assert.NotNull(endpoint);
            var rest = sim.StandardOutput.ReadToEndAsync();
            using (var kill = Process.Start("kill", ["-TERM", sim.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) kill.WaitForExit();
            Assert.True(sim.WaitForExit(30_000), "qa sapi-sim still runs 30 s after SIGTERM");
            Assert.Equal(0, sim.ExitCode);
            Assert.Contains("stopped listening", await rest);
        }
        finally
        {
            if (!sim.HasExited) sim.Kill(entireProcessTree: true);
        }
    }
}
