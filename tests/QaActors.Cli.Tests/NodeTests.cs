using System.Net;
using System.Text.Json.Nodes;

namespace QaActors.Cli.Tests;

/// <summary>A real `qa node` process on loopback and `qa` commands as its clients.</summary>
public class NodeTests
{
    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), "qa-node-test-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public void A_node_serves_qa_train_for_its_data_dir_and_the_model_equals_an_embedded_run_bit_for_bit()
    {
        string dir = NodeProcess.NewDataDir(Temp("train"));
        string embeddedDir = NodeProcess.NewDataDir(Temp("embedded"));
        string outNode = Path.Combine(dir, "out-node"), outEmbedded = Path.Combine(embeddedDir, "out-embedded");
        string[] train = ["train", "--dataset", "mnist", "--classes", "0,1", "--method", "gibbs", "--hidden", "32", "--steps", "3", "--reads", "20", "--sweeps", "50", "--json"];
        try
        {
            var embedded = QaProcess.Run([.. train, "--data-dir", embeddedDir, "--out", outEmbedded]);
            Assert.True(embedded.ExitCode == 0, embedded.Stderr);
            using var node = NodeProcess.Start(dir);
            Assert.Contains("cluster akka.tcp://qa@127.0.0.1:", node.ReadyLine);
            Assert.Contains("roles api,trainer,sampler,gateway", node.ReadyLine);
            // No --server: the command finds the node that owns the data dir and uses it.
            var viaNode = QaProcess.Run([.. train, "--data-dir", dir, "--out", outNode]);
            Assert.True(viaNode.ExitCode == 0, viaNode.Stderr + node.Stderr);
            Assert.Equal(File.ReadAllBytes(Path.Combine(outEmbedded, "model.safetensors")), File.ReadAllBytes(Path.Combine(outNode, "model.safetensors")));
            Assert.Equal(3, JsonNode.Parse(viaNode.Stdout)!["steps"]!.GetValue<int>());
            var list = QaProcess.Run(["experiment", "list", "--data-dir", dir, "--json"]);
            Assert.True(list.ExitCode == 0, list.Stderr);
            var entry = Assert.Single(JsonNode.Parse(list.Stdout)!.AsArray());
            Assert.Equal("completed", entry!["state"]!.GetValue<string>());
            Assert.Equal("admin", entry["user"]!.GetValue<string>());
            // The journal has one writer: a second node on the same data dir refuses, naming the first.
            var second = QaProcess.Run(["node", "--data-dir", dir, "--api", "127.0.0.1:0"]);
            Assert.Equal(2, second.ExitCode);
            Assert.Contains($"pid {node.Pid}", second.Stderr);
            Assert.Contains(node.Api.ToString(), second.Stderr);
            // SIGTERM leaves the cluster and exits within 10 s.
            var took = node.Terminate(TimeSpan.FromSeconds(10));
            Assert.Equal(0, node.ExitCode);
            Assert.True(took < TimeSpan.FromSeconds(10), $"took {took}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            Directory.Delete(embeddedDir, recursive: true);
        }
    }

    [Fact]
    public void A_port_another_process_holds_is_named_in_one_line_and_exits_2()
    {
        string dir = NodeProcess.NewDataDir(Temp("port"));
        var held = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        held.Start();
        try
        {
            int port = ((IPEndPoint)held.LocalEndpoint).Port;
            // Twice on one data dir: a refused start releases it, or the second would be refused as its owner's.
            foreach (var (args, option) in new[] { (new[] { "--port", port.ToString(), "--api", "127.0.0.1:0" }, "--port"), (["--port", "0", "--api", $"127.0.0.1:{port}"], "--api") })
            {
                var r = QaProcess.Run(["node", "--data-dir", dir, .. args], timeout: TimeSpan.FromSeconds(60));
                Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.Stderr}");
                Assert.Contains($"127.0.0.1:{port} ({option}", r.Stderr);
                Assert.Contains("in use by another process", r.Stderr);
                Assert.DoesNotContain("Exception", r.Stderr);
                Assert.DoesNotContain("   at ", r.Stderr);
            }
        }
        finally
        {
            held.Stop();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_api_authenticates_every_call_and_answers_json_errors()
    {
        string dir = NodeProcess.NewDataDir(Temp("auth"));
        try
        {
            using var node = NodeProcess.Start(dir);
            using var anonymous = node.Client(null);
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("healthz")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("api/v1/experiments")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("api/v1/cluster")).StatusCode);
            using var wrong = node.Client("qa_not-a-token");
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("api/v1/quotas")).StatusCode);
            using var admin = node.Client(node.AdminToken);
            var cluster = JsonNode.Parse(await admin.GetStringAsync("api/v1/cluster"))!;
            Assert.Equal("Up", cluster["members"]![0]!["status"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("api/v1/experiments/nobody")).StatusCode);
            var bad = await admin.PostAsync("api/v1/experiments", new StringContent("""{"config":{"Method":"Gibbs","Batch":0},"task":{"dataset":"mnist","class_a":0,"class_b":1,"train_size":"20","test_size":"all"}}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            var error = JsonNode.Parse(await bad.Content.ReadAsStringAsync())!;
            Assert.Equal("config", error["field"]!.GetValue<string>());
            Assert.Contains("batch", error["error"]!.GetValue<string>());
            var openapi = JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json"))!;
            Assert.NotNull(openapi["paths"]!["/api/v1/experiments"]);
            // The token never appears in what the node prints or in its journal.
            string token = node.AdminToken;
            node.Terminate(TimeSpan.FromSeconds(10));
            Assert.DoesNotContain(token, node.Stderr);
            foreach (var f in Directory.GetFiles(dir, "qa.db*"))
                Assert.DoesNotContain(token, System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(f)));
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "admin-token")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task Users_see_only_their_own_experiments_admins_see_all_and_bad_tokens_are_rate_limited()
    {
        string dir = NodeProcess.NewDataDir(Temp("users"));
        try
        {
            using var node = NodeProcess.Start(dir);
            var env = new Dictionary<string, string> { ["QA_SERVER"] = node.Api.ToString(), ["QA_TOKEN"] = node.AdminToken };
            var alice = QaProcess.Run(["user", "add", "alice", "--json"], env);
            Assert.True(alice.ExitCode == 0, alice.Stderr);
            string aliceToken = JsonNode.Parse(alice.Stdout)!["token"]!.GetValue<string>();
            var bob = QaProcess.Run(["user", "add", "bob", "--weight", "2"], env);
            Assert.True(bob.ExitCode == 0, bob.Stderr);
            string bobToken = bob.Stdout.Trim();
            Assert.StartsWith("qa_", bobToken);

            string outDir = Path.Combine(dir, "alice-run");
            var train = QaProcess.Run(["train", "--dataset", "mnist", "--classes", "0,1", "--method", "gibbs", "--hidden", "16", "--steps", "2",
                "--reads", "10", "--sweeps", "20", "--out", outDir, "--json"], new Dictionary<string, string> { ["QA_SERVER"] = node.Api.ToString(), ["QA_TOKEN"] = aliceToken });
            Assert.True(train.ExitCode == 0, train.Stderr + node.Stderr);
            string id = JsonNode.Parse(train.Stdout)!["experiment_id"]!.GetValue<string>();
            Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));

            using var asAlice = node.Client(aliceToken);
            using var asBob = node.Client(bobToken);
            using var asAdmin = node.Client(node.AdminToken);
            var mine = JsonNode.Parse(await asAlice.GetStringAsync("api/v1/experiments"))!.AsArray();
            Assert.Equal(id, Assert.Single(mine)!["experiment_id"]!.GetValue<string>());
            Assert.Equal("alice", mine[0]!["user"]!.GetValue<string>());
            Assert.Empty(JsonNode.Parse(await asBob.GetStringAsync("api/v1/experiments"))!.AsArray());
            Assert.Equal(HttpStatusCode.NotFound, (await asBob.GetAsync($"api/v1/experiments/{id}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await asBob.PostAsync($"api/v1/experiments/{id}/cancel", null)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await asBob.GetAsync($"api/v1/experiments/{id}/artifacts/model.safetensors")).StatusCode);
            Assert.Single(JsonNode.Parse(await asAdmin.GetStringAsync("api/v1/experiments"))!.AsArray());
            // Admin endpoints: 403 for users.
            Assert.Equal(HttpStatusCode.Forbidden, (await asBob.GetAsync("api/v1/users")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await asAlice.PutAsync("api/v1/quotas/alice", new StringContent("{\"seconds\": 100}", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
            var users = JsonNode.Parse(await asAdmin.GetStringAsync("api/v1/users"))!.AsArray();
            Assert.Equal(["admin", "alice", "bob"], users.Select(u => u!["user"]!.GetValue<string>()).Order());
            // A revoked token stops working at once.
            Assert.Equal(0, QaProcess.Run(["user", "revoke", "bob"], env).ExitCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await asBob.GetAsync("api/v1/experiments")).StatusCode);
            // Repeated bad tokens from one address are refused for a while (429 with Retry-After), even with a good one.
            using var guesser = node.Client("qa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            var codes = new List<HttpStatusCode>();
            for (int i = 0; i < 8; i++) codes.Add((await guesser.GetAsync("api/v1/experiments")).StatusCode);
            Assert.Contains(HttpStatusCode.TooManyRequests, codes);
            var limited = await asAlice.GetAsync("api/v1/experiments");
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.True(limited.Headers.RetryAfter is not null);
            // No token in the node's output or its journal.
            node.Terminate(TimeSpan.FromSeconds(10));
            foreach (var t in new[] { aliceToken, bobToken, node.AdminToken })
            {
                Assert.DoesNotContain(t, node.Stderr);
                foreach (var f in Directory.GetFiles(dir, "qa.db*")) Assert.DoesNotContain(t, System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(f)));
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
    [Fact]
    public void A_node_whose_seed_does_not_run_fails_after_its_join_timeout_with_one_line_and_no_stack()
    {
        string dir = NodeProcess.NewDataDir(Temp("nojoin"));
        try
        {
            string conf = Path.Combine(dir, "short-join.conf");
            File.WriteAllText(conf, "qa.node.join-timeout = 2s\n");
            // A loopback port nothing listens on: the join is refused until the timeout.
            var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            string seed = $"akka.tcp://qa@127.0.0.1:{port}";
            var r = QaProcess.Run(["node", "--data-dir", dir, "--api", "127.0.0.1:0", "--config", conf, "--seed-nodes", seed], timeout: TimeSpan.FromSeconds(60));
            Assert.Equal(1, r.ExitCode);
            Assert.Contains($"the node did not join the cluster of {seed} within 00:00:02 (qa.node.join-timeout)", r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr + r.Stdout);
            // Nothing on stdout: no ready line and no exception text from the host.
            Assert.Equal("", r.Stdout.Trim());
            // The failed node released the data dir: a node starts on it.
            using var node = NodeProcess.Start(dir);
            Assert.Contains("qa node ready", node.ReadyLine);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
    [Fact]
    public void A_node_that_the_cluster_downs_ends_with_its_actor_system_exit_1_saying_so()
    {
        string seedDir = NodeProcess.NewDataDir(Temp("downing-seed")), otherDir = NodeProcess.NewDataDir(Temp("downing-other"));
        try
        {
            // keep-majority breaks the tie of a two-node cluster for the side with the lowest address: with the seed's
            // port the lower one, the other node downs itself once the seed is gone.
            int seedPort = SapiSimProcess.FreePort(), otherPort;
            do otherPort = SapiSimProcess.FreePort(); while (otherPort <= seedPort);
            string seed = $"akka.tcp://qa@127.0.0.1:{seedPort}";
            using var seedNode = NodeProcess.Start(seedDir, "--port", seedPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var other = NodeProcess.Start(otherDir, "--roles", "sampler", "--port", otherPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seed-nodes", seed);
            seedNode.Dispose();
            Assert.True(other.WaitForExit(TimeSpan.FromSeconds(90)), "the downed node still runs:\n" + other.Stderr);
            Assert.Equal(1, other.ExitCode);
            // Its stderr is read on another thread, which may be a moment behind the exit.
            var until = DateTime.UtcNow.AddSeconds(10);
            while (!other.Stderr.Contains("qa node: the actor system stopped", StringComparison.Ordinal) && DateTime.UtcNow < until) Thread.Sleep(50);
            Assert.Contains("qa node: the actor system stopped", other.Stderr);
            Assert.DoesNotContain("   at ", other.Stderr);
        }
        finally
        {
            Directory.Delete(seedDir, recursive: true);
            Directory.Delete(otherDir, recursive: true);
        }
    }
}


