using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using QaActors.DWave.Config;
using QaActors.DWave.Sapi;
using QaActors.Learning;
using QaActors.Node;
using QaActors.Orchestration;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Training;

namespace QaActors.Cli.Commands;

/// <summary>
/// `qa node`: a long-lived QaActors node (docs/operations.md, "Running a node"). Its roles decide what runs here; its
/// datasets, journal and QPU configuration (DWAVE_*, dwave.conf) are its own. One line says where it is when it is
/// ready; SIGTERM or Ctrl-C leaves the cluster gracefully.
/// </summary>
public static class NodeCommand
{
    public static Command Create()
    {
        var config = CommonOptions.ActorConfig();
        var seeds = new Option<string?>("--seed-nodes") { Description = "Comma-separated Akka addresses of seed nodes, e.g. akka.tcp://qa@127.0.0.1:4053 (default: none, the node starts a cluster)." };
        var hostname = new Option<string?>("--hostname") { Description = "Host name or IP other nodes reach this one at (default 127.0.0.1)." };
        var port = new Option<int?>("--port") { Description = "Cluster port (default 0: any free port; give one when other nodes name this one as seed)." };
        var apiListen = new Option<string?>("--api") { Description = "HOST:PORT of the HTTP API (default 127.0.0.1:4180; port 0 picks a free one)." };
        var roles = new Option<string?>("--roles") { Description = "Comma-separated roles: any of api, trainer, sampler, gateway (default all)." };
        var db = CommonOptions.Db();
        var dataDir = CommonOptions.DataDir();
        var json = CommonOptions.Json();
        var cmd = new Command("node", "Run a long-lived QaActors node: cluster member, HTTP API and dashboard host, experiment runner.");
        foreach (Option o in new Option[] { config, seeds, hostname, port, apiListen, roles, db, dataDir, json }) cmd.Add(o);
        cmd.SetAction(async (pr, ct) =>
        {
            var extra = new List<string>();
            if (pr.GetValue(hostname) is { } h) extra.Add($"qa.node.hostname = {Quote(h)}");
            if (pr.GetValue(port) is int p)
            {
                CommonOptions.RequireRange(p, "--port", 0, 65535);
                extra.Add($"qa.node.port = {p}");
            }
            if (pr.GetValue(seeds) is { } s)
                extra.Add($"qa.node.seed-nodes = [{string.Join(", ", s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Quote))}]");
            if (pr.GetValue(roles) is { } r)
                extra.Add($"qa.node.roles = [{string.Join(", ", r.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Quote))}]");
            if (pr.GetValue(apiListen) is { } a) extra.Add($"qa.api.listen = {Quote(a)}");
            // A long-lived node remembers its running trainers, so they survive the loss of their node and restarts.
            extra.Add("akka.cluster.sharding.remember-entities = on");
            if (TrainCommand.AkkaLogLevelOverride is { } lvl) extra.Add(lvl);
            string root = new QaActors.Data.DataStore(pr.GetValue(dataDir)).Root;
            QaSettings settings;
            try { settings = QaConfig.Load(pr.GetValue(config), root, pr.GetValue(db), string.Join('\n', extra), TrainCommand.QuietAkka); }
            catch (QaConfigException e) { throw new UsageException(e.Message); }

            var backends = new Dictionary<string, IQpuBackend>();
            QpuSampler? qpu = null;
            if (QpuConfigured())
            {
                try { qpu = QpuSampler.FromConfig(DWaveConfig.Load(new DWaveConfigOverrides())); }
                catch (DWaveConfigException e) { throw new UsageException(e.Message); }
                backends[qpu.SolverName] = new QpuSamplerBackend(qpu);
            }
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            QaNode node;
            try
            {
                node = await QaNode.StartAsync(new NodeOptions
                {
                    Settings = settings,
                    Services = new QaServices
                    {
                        ProcedureFor = LearningProcedure.Factory(),
                        ClassicalSamplers = QaTraining.DefaultSamplers(),
                        QpuBackends = backends,
                    },
                    WriteArtifacts = WriteArtifacts,
                    DatasetDir = root,
                }, stop.Token);
            }
            catch (NodeStartException e) { throw new UsageException(e.Message); }
            try
            {
                if (node.AdminTokenPath is { } path && File.Exists(path))
                    Console.Error.WriteLine($"qa node: the admin token is in {path} (readable by this user only); `qa user add NAME` makes tokens for people");
                string line = $"qa node ready: api {node.ApiUrl?.ToString() ?? "(no api role)"} cluster {node.ClusterAddress} roles {string.Join(",", settings.Roles)} data {settings.DataDir}"
                    + (backends.Count > 0 ? $" qpu {string.Join(",", backends.Keys)}" : "");
                if (pr.GetValue(json)) Cli.WriteJson(new System.Text.Json.Nodes.JsonObject { ["api"] = node.ApiUrl?.ToString(), ["cluster"] = node.ClusterAddress, ["roles"] = string.Join(",", settings.Roles) });
                else Console.WriteLine(line);
                Console.Out.Flush();
                // The node ends with its host: on SIGTERM or Ctrl-C, or when its actor system terminated by itself
                // (the cluster downed this node), which no longer serves anything.
                var signalled = Task.Delay(Timeout.Infinite, stop.Token);
                if (await Task.WhenAny(signalled, node.WhenTerminated) == signalled) Console.Error.WriteLine("qa node: leaving the cluster");
                else
                {
                    Console.Error.WriteLine("qa node: the actor system stopped (this node left or was removed from the cluster); the node stops");
                    return Cli.ExitFailure;
                }
            }
            finally
            {
                await node.DisposeAsync();
                qpu?.Dispose();
            }
            return Cli.ExitOk;
        });
        return cmd;
    }

    /// <summary>A QPU is configured for this node when a token is available from its environment or dwave.conf.</summary>
    private static bool QpuConfigured()
    {
        try { return DWaveConfig.Load(new DWaveConfigOverrides()).Token is not null; }
        catch (DWaveConfigException) { return false; }
    }

    private static Task WriteArtifacts(ExperimentResult result, string dir)
    {
        var training = LearningProcedure.ToTrainingResult(result);
        TrainCommand.WriteAll(dir, training.Config, training, new TrainingRun(result, training));
        return Task.CompletedTask;
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
