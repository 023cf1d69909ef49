using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// The actor system in its Akka.Hosting host (docs/architecture.md, "The host"): configured by the HOCON alone, its
/// actors in the registry, a failed start stopping the system, a stop running CoordinatedShutdown.
/// </summary>
public class HostingTests
{
    private static QaServices Services() => new() { ProcedureFor = _ => throw new InvalidOperationException("no experiment runs here") };

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    [Fact]
    public async Task The_hosted_system_runs_on_the_hocon_alone_and_its_stop_runs_coordinated_shutdown()
    {
        using var dir = new TempDir();
        var settings = QaConfig.Load(dataDir: dir.Path);
        var qa = await QaActorSystem.StartAsync(settings, Services());
        var config = qa.System.Settings.Config;
        Assert.Equal(settings.SystemName, qa.System.Name);
        foreach (var key in new[] { "akka.actor.provider", "akka.cluster.downing-provider-class", "akka.persistence.journal.plugin", "akka.loglevel" })
            Assert.Equal(settings.Akka.GetString(key), config.GetString(key));
        // Akka.Hosting would route Akka's log through Microsoft.Extensions.Logging if asked to; the node keeps Akka's own logger.
        Assert.All(qa.System.Settings.Loggers, l => Assert.StartsWith("Akka.Event.DefaultLogger", l));
        Assert.Same(qa.QuotaLedger, qa.ActorRegistry.Get<QuotaLedgerActor>());
        var quota = await qa.QuotaLedger.Ask<QuotaReport>(new GetQuota(null), TimeSpan.FromSeconds(20));
        Assert.Empty(quota.Accounts);

        await qa.DisposeAsync();
        Assert.True(qa.System.WhenTerminated.IsCompleted);
        // Stopped by the host's stop (Akka.Hosting runs CoordinatedShutdown), not merely terminated.
        Assert.Same(CoordinatedShutdown.ClrExitReason.Instance, CoordinatedShutdown.Get(qa.System).ShutdownReason);
    }

    [Fact]
    public async Task A_join_timeout_fails_the_start_with_its_message_and_the_failed_system_frees_its_port()
    {
        using var dir = new TempDir();
        int port = FreePort(), deadSeed = FreePort();
        var settings = QaConfig.Load(dataDir: dir.Path, extraHocon:
            $"qa.node.port = {port}\nqa.node.join-timeout = 1s\nqa.node.seed-nodes = [\"akka.tcp://qa@127.0.0.1:{deadSeed}\"]");
        var e = await Assert.ThrowsAsync<TimeoutException>(() => QaActorSystem.StartAsync(settings, Services()));
        Assert.Equal($"the node did not join the cluster of akka.tcp://qa@127.0.0.1:{deadSeed} within 00:00:01 (qa.node.join-timeout); check --seed-nodes and that a seed node runs", e.Message);
        // The host stopped the system it had started: its cluster port is free again for a node of its own.
        var alone = QaConfig.Load(dataDir: dir.Path, extraHocon: $"qa.node.port = {port}");
        await using var qa = await QaActorSystem.StartAsync(alone, Services());
        Assert.Contains($":{port}", Akka.Cluster.Cluster.Get(qa.System).SelfAddress.ToString());
    }
}
