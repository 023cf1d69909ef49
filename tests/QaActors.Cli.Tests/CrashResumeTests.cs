using System.Diagnostics;

namespace QaActors.Cli.Tests;

/// <summary>
/// The guarantee of issue 4: kill `qa train` with SIGKILL at arbitrary moments, run the same command again, and the
/// final model is byte-identical to an uninterrupted run. Needs the mnist cache (deploy/test.sh fetches it).
/// </summary>
public class CrashResumeTests
{
    private static string[] TrainArgs(string outDir, string db) =>
    [
        "train", "--dataset", "mnist", "--classes", "0,1", "--method", "gibbs", "--hidden", "48", "--train-size", "20",
        "--test-size", "60", "--batch", "5", "--lr", "0.1", "--steps", "16", "--reads", "20", "--sweeps", "60",
        "--seed", "7", "--out", outDir, "--db", db, "--json",
    ];

    [Fact]
    public void KilledAtRandomPointsAndResumedEndsWithTheSameModelBitForBit()
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
            for (int attempt = 0; attempt < 3; attempt++)
            {
                // Kill right after a randomly chosen step has been reported persisted (stderr, one line per step).
                int killAfter = Math.Min(15, lastSeen + rng.Next(1, 5));
                var psi = QaProcess.StartInfo(TrainArgs(outDir, db));
                using var p = Process.Start(psi)!;
                p.StandardOutput.ReadToEndAsync();
                bool killed = false;
                string? line;
                while ((line = p.StandardError.ReadLine()) != null)
                {
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
                if (killed) kills++;
            }
            var final = QaProcess.Run(TrainArgs(outDir, db));
            Assert.True(final.ExitCode == 0, final.Stderr);
            Assert.True(kills >= 2, $"only {kills} runs were killed mid-training");
            Assert.Equal(expected, File.ReadAllBytes(Path.Combine(outDir, "model.safetensors")));
            var report = System.Text.Json.Nodes.JsonNode.Parse(final.Stdout)!;
            Assert.NotNull(report["experiment_id"]);
            // The last run continued from persisted steps rather than starting over.
            Assert.True((long)report["resumed_from_step"]! > 0, $"final run resumed from step {report["resumed_from_step"]}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
