using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace QaActors.Cli.Tests;

/// <summary>
/// Two real `qa node` processes: the trainer node (api, trainer, gateway) has no sampler pools; the sampler node has
/// them. A classical run on the trainer node samples on the other node and ends bit for bit where an embedded one-node
/// run ends.
/// </summary>
public class SamplerRoleNodeTests(ITestOutputHelper output)
{
    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), "qa-node-test-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task A_trainer_node_without_the_sampler_role_samples_on_a_sampler_node_and_the_model_is_bit_identical()
    {
        string trainerDir = NodeProcess.NewDataDir(Temp("trainer-node"));
        string samplerDir = NodeProcess.NewDataDir(Temp("sampler-node"));
        string embeddedDir = NodeProcess.NewDataDir(Temp("embedded"));
        string outNode = Path.Combine(trainerDir, "out-node"), outEmbedded = Path.Combine(embeddedDir, "out-embedded");
        string[] train = ["train", "--dataset", "mnist", "--classes", "0,1", "--method", "gibbs", "--hidden", "32", "--steps", "3", "--reads", "20", "--sweeps", "50", "--json"];
        try
        {
            var embedded = QaProcess.Run([.. train, "--data-dir", embeddedDir, "--out", outEmbedded]);
            Assert.True(embedded.ExitCode == 0, embedded.Stderr);

            int port = SapiSimProcess.FreePort();
            string seed = $"akka.tcp://qa@127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
            // The trainer node is ready once it sees a sampler node, so it starts first and the sampler node joins it.
            var startingTrainerNode = Task.Run(() => NodeProcess.Start(trainerDir, "--roles", "api,trainer,gateway", "--port", port.ToString(CultureInfo.InvariantCulture)));
            await Task.Delay(TimeSpan.FromSeconds(2));
            using var samplerNode = NodeProcess.Start(samplerDir, "--roles", "sampler", "--seed-nodes", seed);
            using var trainerNode = await startingTrainerNode;
            output.WriteLine(trainerNode.ReadyLine);
            output.WriteLine(samplerNode.ReadyLine);
            Assert.Contains("roles api,trainer,gateway ", trainerNode.ReadyLine);
            Assert.Contains("api (no api role)", samplerNode.ReadyLine);
            Assert.Contains("roles sampler ", samplerNode.ReadyLine);

            using var admin = trainerNode.Client(trainerNode.AdminToken);
            var members = JsonNode.Parse(await admin.GetStringAsync("api/v1/cluster"))!["members"]!.AsArray();
            Assert.Equal(2, members.Count);
            static string[] RolesOf(JsonNode m) => m["roles"]!.AsArray().Select(r => r!.GetValue<string>()).ToArray();
            Assert.Contains(members, m => RolesOf(m!).Contains("sampler") && !RolesOf(m!).Contains("trainer") && m!["status"]!.GetValue<string>() == "Up");
            Assert.Contains(members, m => RolesOf(m!).Contains("trainer") && !RolesOf(m!).Contains("sampler"));

            var env = new Dictionary<string, string> { ["QA_SERVER"] = trainerNode.Api.ToString(), ["QA_TOKEN"] = trainerNode.AdminToken };
            var viaNodes = QaProcess.Run([.. train, "--out", outNode], env);
            Assert.True(viaNodes.ExitCode == 0, viaNodes.Stderr + trainerNode.Stderr + samplerNode.Stderr);
            Assert.Equal(3, JsonNode.Parse(viaNodes.Stdout)!["steps"]!.GetValue<int>());
            Assert.Equal(File.ReadAllBytes(Path.Combine(outEmbedded, "model.safetensors")), File.ReadAllBytes(Path.Combine(outNode, "model.safetensors")));
            Assert.DoesNotContain("no node with the sampler role", trainerNode.Stderr);
        }
        finally
        {
            Directory.Delete(trainerDir, recursive: true);
            Directory.Delete(samplerDir, recursive: true);
            Directory.Delete(embeddedDir, recursive: true);
        }
    }
}
