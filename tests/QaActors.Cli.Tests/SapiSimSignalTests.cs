using System.Diagnostics;
using QaActors.DWave.Config;
using QaActors.DWave.Sapi;
using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>`qa sapi-sim` as a real process stops cleanly on SIGTERM (kill, docker stop, a script's trap) within 2 s.</summary>
public class SapiSimSignalTests
{
    [Fact]
    public async Task Sigterm_StopsTheSimulatorWithinTwoSeconds_ExitZero_WithItsUsageReport()
    {
        // Answers take 60 s, so a problem stays in progress and a client's long poll is open when the signal comes.
        using var sim = Process.Start(QaProcess.StartInfo(["sapi-sim", "--port", "0", "--set", "sapi-sim.faults.slow-answers = 60s"]))!;
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

            using var client = new SapiClient(new SapiClientOptions
            {
                Endpoint = new Uri(endpoint!), Token = new SecretToken("sim-token"), RequestTimeout = TimeSpan.FromSeconds(60),
                Retry = new SapiRetryPolicy { MaxAttempts = 1 },
            });
            var solver = (await client.ListSolversAsync())[0];
            int q = solver.Qubits[0];
            var submitted = await client.SubmitAsync(solver, new QpuProblem("ising", new Dictionary<int, double> { [q] = 0.5 }, new Dictionary<(int, int), double>()),
                new QpuParameters { NumReads = 10 });
            var poll = client.PollAsync([submitted.Id], 30);
            await Task.Delay(300);
            Assert.False(poll.IsCompleted, "the long poll should still be waiting");

            var watch = Stopwatch.StartNew();
            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", sim.Id.ToString()]) { UseShellExecute = false })!)
                await kill.WaitForExitAsync();
            bool exited = sim.WaitForExit(TimeSpan.FromSeconds(2));
            var took = watch.Elapsed;
            // The open long poll was answered (or its connection closed) at shutdown, not 30 s later.
            Assert.Same(poll, await Task.WhenAny(poll, Task.Delay(TimeSpan.FromSeconds(5))));
            if (poll.IsCompletedSuccessfully) Assert.Equal(submitted.Id, Assert.Single(await poll).Id);
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
