using System.Diagnostics;
using QaActors.DWave.Simulator;
using QaActors.Sampling;

namespace QaActors.Cli.Tests;

/// <summary>
/// Issue 8: the simulator's answers depend only on its seed and the problem, not on arrival order, so Quantum-1
/// (`qa train --method qpu`) against `qa sapi-sim` is reproducible, and a run killed with SIGKILL and resumed ends
/// with the same model bit for bit. All runs share one simulator: with a per-simulator problem counter as the seed
/// (the old behaviour) every later run would have drawn different samples.
/// </summary>
public class QuantumReproducibilityTests
{
    private const string Token = "DEV-quantum-repro-0001";

    private static string[] TrainArgs(string outDir, string db) =>
    [
        "train", "--dataset", "mnist", "--classes", "0,1", "--method", "qpu", "--solver", "Sim_P4", "--fallback", "none",
        "--t-eff", "16", "--hidden", "8", "--train-size", "10", "--test-size", "20", "--batch", "5", "--lr", "0.1",
        "--steps", "8", "--reads", "50", "--seed", "11", "--out", outDir, "--db", db, "--json",
    ];

    [Fact]
    public async Task QuantumOne_AgainstTheSimulator_IsReproducible_AndAKilledRunResumesBitForBit()
    {
        await using var sim = await SapiSimulator.StartAsync(new SapiSimulatorOptions
        {
            Tokens = [Token],
            Solvers = [SimulatedSolverSpec.AdvantageLike("Sim_P4", LatticeGraphSource.Instance.Build("pegasus", [4]))],
            Sampler = new HardwareAnnealer(200),
            Seed = 5,
        });
        var env = new Dictionary<string, string> { ["DWAVE_API_ENDPOINT"] = sim.SapiEndpoint.AbsoluteUri, ["DWAVE_API_TOKEN"] = Token };
        string root = Directory.CreateTempSubdirectory("qa-quantum-repro").FullName;
        try
        {
            var first = QaProcess.Run(TrainArgs(Path.Combine(root, "a"), Path.Combine(root, "a.db")), env);
            Assert.True(first.ExitCode == 0, first.Stderr);
            int afterFirst = sim.ProblemCount;
            Assert.True(afterFirst >= 8, $"only {afterFirst} problems reached the simulator");
            byte[] expected = File.ReadAllBytes(Path.Combine(root, "a", "model.safetensors"));

            var second = QaProcess.Run(TrainArgs(Path.Combine(root, "b"), Path.Combine(root, "b.db")), env);
            Assert.True(second.ExitCode == 0, second.Stderr);
            Assert.Equal(expected, File.ReadAllBytes(Path.Combine(root, "b", "model.safetensors")));

            // Killed mid-run (after a step is persisted), then run again: the same model.
            string outDir = Path.Combine(root, "c"), db = Path.Combine(root, "c.db");
            var log = new System.Text.StringBuilder();
            bool killed = false;
            using (var p = Process.Start(QaProcess.StartInfo(TrainArgs(outDir, db), env))!)
            {
                var stdout = p.StandardOutput.ReadToEndAsync();
                string? line;
                while ((line = p.StandardError.ReadLine()) != null)
                {
                    log.AppendLine("  " + line);
                    var m = System.Text.RegularExpressions.Regex.Match(line, @"^qa: step (\d+)/\d+ persisted");
                    if (m.Success && int.Parse(m.Groups[1].Value) >= 3)
                    {
                        p.Kill(entireProcessTree: true);
                        killed = true;
                        break;
                    }
                }
                p.WaitForExit();
                await stdout;
            }
            Assert.True(killed, $"the run was not killed mid-training:\n{log}");
            var resumed = QaProcess.Run(TrainArgs(outDir, db), env);
            Assert.True(resumed.ExitCode == 0, resumed.Stderr);
            var report = System.Text.Json.Nodes.JsonNode.Parse(resumed.Stdout)!;
            Assert.True((long)report["resumed_from_step"]! is > 0 and < 8, resumed.Stdout);
            Assert.Equal(expected, File.ReadAllBytes(Path.Combine(outDir, "model.safetensors")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
