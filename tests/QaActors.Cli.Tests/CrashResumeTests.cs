using System.Diagnostics;

namespace QaActors.Cli.Tests;

/// <summary>
/// The guarantee of issue 4: kill `qa train` with SIGKILL at arbitrary moments, run the same command again, and the
/// final model is byte-identical to an uninterrupted run. Needs the mnist cache (deploy/test.sh fetches it).
/// </summary>
public class CrashResumeTests
{
    // Steps must take long enough (~50 ms here) that a kill sent on reading "step k persisted" lands before the
    // run ends: with tiny steps the whole run finished within the reader's lag on a loaded CI machine.
    private static string[] TrainArgs(string outDir, string db) =>
    [
        "train", "--dataset", "mnist", "--classes", "0,1", "--method", "gibbs", "--hidden", "128", "--train-size", "20",
        "--test-size", "60", "--batch", "5", "--lr", "0.1", "--steps", "16", "--reads", "100", "--sweeps", "2000",
        "--seed", "7", "--out", outDir, "--db", db, "--json",
    ];

    [Fact]
    public async Task KilledAtRandomPointsAndResumedEndsWithTheSameModelBitForBit()
    {
        string root = Directory.CreateTempSubdirectory("qa-crash").FullName;
        try
        {
            // Reference: one uninterrupted run with its own journal.
            var reference = QaProcess.Run(TrainArgs(Path.Combine(root, "ref"), Path.Combine(root, "ref.db")));
            Assert.True(reference.ExitCode == 0, reference.Stderr);
            byte[] expected = File.ReadAllBytes(Path.Combine(root, "ref", "model.safetensors"));

            string outDir = Path.Combine(root, "crash"), db = Path.Combine(root, "crash.db");
            var rng = new Random(20261125);
            int kills = 0, lastSeen = 0;
            var log = new System.Text.StringBuilder();
            for (int attempt = 0; attempt < 3; attempt++)
            {
                // Kill right after a randomly chosen step has been reported persisted (stderr, one line per step).
                int killAfter = Math.Min(15, lastSeen + rng.Next(1, 5));
                var psi = QaProcess.StartInfo(TrainArgs(outDir, db));
                using var p = Process.Start(psi)!;
                var stdout = p.StandardOutput.ReadToEndAsync();
                bool killed = false;
                string? line;
                log.AppendLine($"attempt {attempt}: kill after step {killAfter}");
                while ((line = p.StandardError.ReadLine()) != null)
                {
                    log.AppendLine("  " + line);
                    var m = System.Text.RegularExpressions.Regex.Match(line, @"^qa: step (\d+)/\d+ persisted");
                    if (!m.Success) continue;
                    lastSeen = int.Parse(m.Groups[1].Value);
                    if (lastSeen >= killAfter)
                    {
                        p.Kill(entireProcessTree: true); // SIGKILL: no shutdown hooks, no flush
                        killed = true;
                        break;
                    }
                }
                p.WaitForExit();
                string output = await stdout;
                log.AppendLine(killed ? "  exit killed" : $"  exit {p.ExitCode}, stdout: {output}");
                if (killed) kills++;
            }
            var final = QaProcess.Run(TrainArgs(outDir, db));
            Assert.True(final.ExitCode == 0, final.Stderr);
            Assert.True(kills >= 2, $"only {kills} runs were killed mid-training:\n{log}");
            Assert.Equal(expected, File.ReadAllBytes(Path.Combine(outDir, "model.safetensors")));
            var report = System.Text.Json.Nodes.JsonNode.Parse(final.Stdout)!;
            Assert.NotNull(report["experiment_id"]);
            // The last run continued from persisted steps rather than starting over, and it still had steps to do.
            long resumed = (long)report["resumed_from_step"]!;
            Assert.True(resumed is > 0 and < 16, $"final run resumed from step {resumed}:\n{log}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
