using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.Event;
using LinqToDB;
using LinqToDB.Interceptors;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Training;
using QaActors.Sampling;

namespace QaActors.Orchestration;

/// <summary>What the host (the CLI) plugs into the actor system.</summary>
public sealed class QaServices
{
    /// <summary>Builds the science of an experiment from its spec (loads the data, parses the config).</summary>
    public required Func<ExperimentSpec, ITrainingProcedure> ProcedureFor { get; init; }

    /// <summary>Classical samplers by name, built per job settings; each pool routee gets its own instances. Default: <see cref="QaTraining.DefaultSamplers"/>.</summary>
    public IReadOnlyDictionary<string, Func<ClassicalSettings, ISampler>> ClassicalSamplers { get; init; } = QaTraining.DefaultSamplers();

    /// <summary>QPU backends by solver name; a gateway singleton is started for each.</summary>
    public IReadOnlyDictionary<string, IQpuBackend> QpuBackends { get; init; } = new Dictionary<string, IQpuBackend>();

    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>
/// The running actor system: a one-node Akka.Cluster that joins itself, the trainer shard region
/// (entities keyed by experiment id), the QPU gateways and the quota ledger and experiment registry as
/// cluster singletons (reached through proxies), and the BQM worker and classical sampler pools.
/// More nodes are a matter of configuration (seed nodes, roles, PostgreSQL), not of code.
/// </summary>
public sealed class QaActorSystem : IAsyncDisposable
{
    public ActorSystem System { get; }
    public QaSettings Settings { get; }
    public QaServices Services { get; }
    public IActorRef Trainers { get; private set; } = ActorRefs.Nobody;
    public IActorRef QuotaLedger { get; private set; } = ActorRefs.Nobody;
    public IActorRef Registry { get; private set; } = ActorRefs.Nobody;
    /// <summary>The user registry (users, hashed tokens, admin flags, fair-share weights): a singleton like the ledger.</summary>
    public IActorRef Users { get; private set; } = ActorRefs.Nobody;
    public IActorRef BqmWorkers { get; private set; } = ActorRefs.Nobody;
    /// <summary>The campaign shard (managers keyed by campaign id) and the campaign registry (docs/campaigns.md, "On a node").</summary>
    public IActorRef Campaigns { get; private set; } = ActorRefs.Nobody;
    public IActorRef CampaignRegistry { get; private set; } = ActorRefs.Nobody;
    public IReadOnlyDictionary<string, IActorRef> SamplerPools { get; private set; } = new Dictionary<string, IActorRef>();
    private readonly Dictionary<string, IActorRef> _gateways = new(StringComparer.Ordinal);

    private QaActorSystem(ActorSystem system, QaSettings settings, QaServices services)
    {
        System = system;
        Settings = settings;
        Services = services;
    }

    /// <summary>The gateway (singleton proxy) of a solver, or null when no backend was given for it.</summary>
    public IActorRef? GatewayFor(string solver) => _gateways.TryGetValue(solver, out var g) ? g : null;

    public static async Task<QaActorSystem> StartAsync(QaSettings settings, QaServices services, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(settings.DataDir);
        var setup = ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(settings.Akka));
        if (settings.Provider == "sqlite")
        {
            string connectionString = settings.Akka.GetString("akka.persistence.journal.sql.connection-string");
            UseWriteAheadLog(connectionString);
            setup = setup.And(new Akka.Persistence.Sql.Config.DataOptionsSetup(SqliteJournalOptions(connectionString, settings.SqliteSynchronous)));
        }
        var system = ActorSystem.Create(settings.SystemName, setup);
        var qa = new QaActorSystem(system, settings, services);
        try
        {
            var cluster = Cluster.Get(system);
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            // No seeds: this node is the cluster (or its first node, which the others name as their seed).
            if (settings.SeedNodes.Count == 0) cluster.Join(cluster.SelfAddress);
            else cluster.JoinSeedNodes(settings.SeedNodes.Select(Address.Parse));
            var done = await Task.WhenAny(up.Task, Task.Delay(settings.JoinTimeout, cancellationToken)).ConfigureAwait(false);
            if (done != up.Task)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new TimeoutException(settings.SeedNodes.Count == 0
                    ? $"the actor system did not join its own cluster within {settings.JoinTimeout} (qa.node.join-timeout); check qa.node.hostname/port"
                    : $"the node did not join the cluster of {string.Join(", ", settings.SeedNodes)} within {settings.JoinTimeout} (qa.node.join-timeout); check --seed-nodes and that a seed node runs");
            }
            if (JournalLocation(settings) is var (journalName, marker))
                await JournalIdentity.EnsureAsync(system, marker, journalName, settings.JoinTimeout).ConfigureAwait(false);
            qa.StartActors();
            if (!settings.HasRole("sampler")) await qa.AwaitSamplerNodesAsync(settings.JoinTimeout, cancellationToken).ConfigureAwait(false);
            return qa;
        }
        catch
        {
            await system.Terminate().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// How a refusal names the journal (the SQLite file, or a server's host, port and database, never its connection
    /// string, which may hold a password) and the path of its marker file: "journal-id" in the data dir for the data
    /// dir's own qa.db; "FILE.journal-id" beside a SQLite file given with --db (the marker travels with its journal and
    /// leaves nothing in the data dir); "journal-id-HASH" in the data dir for a PostgreSQL journal. Null for an
    /// in-memory SQLite journal, which nothing can swap.
    /// </summary>
    private static (string Name, string Marker)? JournalLocation(QaSettings settings)
    {
        string cs = settings.Akka.GetString("akka.persistence.journal.sql.connection-string");
        if (settings.Provider == "sqlite")
        {
            var b = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(cs);
            if (b.Mode == Microsoft.Data.Sqlite.SqliteOpenMode.Memory || b.DataSource is "" or ":memory:") return null;
            string file = Path.GetFullPath(b.DataSource);
            bool own = file == Path.GetFullPath(Path.Combine(settings.DataDir, "qa.db"));
            return ("the journal " + file, own ? Path.Combine(settings.DataDir, JournalIdentity.MarkerFileName) : file + "." + JournalIdentity.MarkerFileName);
        }
        var pg = new Npgsql.NpgsqlConnectionStringBuilder(cs);
        string where = $"{pg.Host}:{pg.Port}/{pg.Database}";
        return ("the PostgreSQL journal " + where, Path.Combine(settings.DataDir, JournalIdentity.MarkerFileName + "-" + ShortHash(where)));
    }

    private static string ShortHash(string s) =>
        Convert.ToHexStringLower(global::System.Security.Cryptography.SHA256.HashData(global::System.Text.Encoding.UTF8.GetBytes(s)))[..12];

    /// <summary>
    /// Puts the SQLite journal file into write-ahead-log mode (a property of the file, so once is enough): a commit is
    /// then one append and fsync of the log instead of a rollback journal's create-write-sync-delete, which roughly halves
    /// the latency of persisting a step, and `qa experiment list` can read while a run writes. How often the log is synced
    /// is <see cref="SqliteJournalOptions"/>'s business. See https://www.sqlite.org/wal.html.
    /// </summary>
    private static void UseWriteAheadLog(string connectionString)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        var mode = command.ExecuteScalar() as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"the SQLite journal ({connectionString}) refused write-ahead-log mode (journal_mode = {mode})");
    }

    /// <summary>
    /// The SQLite journal's linq2db options: the configured connection, and on every connection the file opens with
    /// <c>PRAGMA synchronous</c> as qa.persistence.sqlite-synchronous says. With the write-ahead log, NORMAL syncs the
    /// log at checkpoints instead of at every commit: a killed process loses nothing committed (the log is written
    /// before a commit returns), an operating-system crash or power cut may lose the last commits but never corrupts
    /// the file (https://www.sqlite.org/pragma.html#pragma_synchronous). FULL syncs every commit.
    /// </summary>
    private static DataOptions SqliteJournalOptions(string connectionString, string synchronous) =>
        new DataOptions()
            .UseConnectionString(ProviderName.SQLiteMS, connectionString)
            .UseInterceptor(new SqlitePragmas($"PRAGMA synchronous={synchronous.ToUpperInvariant()};"));

    private sealed class SqlitePragmas(string pragmas) : ConnectionInterceptor
    {
        public override void ConnectionOpened(ConnectionEventData eventData, System.Data.Common.DbConnection connection)
        {
            using var command = connection.CreateCommand();
            command.CommandText = pragmas;
            command.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, System.Data.Common.DbConnection connection, CancellationToken cancellationToken)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = pragmas;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void StartActors()
    {
        int pool = Settings.SamplerPoolSize;
        int builders = Environment.ProcessorCount;
        BqmWorkers = System.ActorOf(BqmWorker.Pool(builders), "bqm-workers");
        // Classical sampler pools run on sampler nodes; there the trainers and gateway use the node's own pool. A node
        // without the role reaches the pools of the sampler nodes through a cluster-aware group router (samples depend
        // only on the job, seeded by its request, so the node that samples does not change them).
        var pools = new Dictionary<string, IActorRef>(StringComparer.Ordinal);
        foreach (var (name, factory) in Services.ClassicalSamplers)
            pools[name] = Settings.HasRole("sampler")
                ? System.ActorOf(SamplerWorker.Pool(factory, pool), SamplerWorker.PoolName(name))
                : System.ActorOf(SamplerWorker.OnSamplerNodes(name), SamplerWorker.PoolName(name) + "-router");
        SamplerPools = pools;

        // Under a backoff supervisor: a failed journal write stops them (Akka.Persistence), and they come back recovered.
        QuotaLedger = Singleton(QuotaLedgerActor.SupervisedProps(Settings.Quotas), "quota-ledger");
        Registry = Singleton(ExperimentRegistryActor.SupervisedProps(), "experiment-registry");
        Users = Singleton(QaActors.Orchestration.Users.UserRegistryActor.SupervisedProps(), "users");
        foreach (var (solver, backend) in Services.QpuBackends)
            _gateways[solver] = Singleton(QpuGatewayActor.Props(backend, QuotaLedger, pools, Settings.Gateway, Settings.Quotas, Services.Clock, Users),
                "qpu-gateway-" + Sanitize(solver));

        var trainerServices = new TrainerServices
        {
            ProcedureFor = Services.ProcedureFor,
            BqmWorkers = BqmWorkers,
            BqmWorkerCount = builders,
            SamplerPools = pools,
            GatewayFor = GatewayFor,
            Settings = Settings.Trainer,
            PassivateWhenIdle = true,
            ContinueWhenRestored = System.Settings.Config.GetBoolean("akka.cluster.sharding.remember-entities"),
        };
        // Trainer entities live on nodes with the trainer role; other nodes reach them through a proxy region.
        var sharding = ClusterSharding.Get(System);
        Trainers = Settings.HasRole("trainer")
            ? sharding.Start("trainer", id => TrainerActor.Props(id, trainerServices), ClusterShardingSettings.Create(System).WithRole("trainer"), new ExperimentMessageExtractor())
            : sharding.StartProxy("trainer", "trainer", new ExperimentMessageExtractor());
        (Campaigns, CampaignRegistry) = global::QaActors.Orchestration.Campaigns.CampaignCluster.Start(this, Singleton);
    }

    /// <summary>
    /// On a node without the sampler role: waits until the routers see a sampler node (a job sent before would find no
    /// routee). None within <paramref name="timeout"/>: the node starts anyway and says so; its classical jobs fail
    /// until a sampler node joins, and the trainers retry their steps.
    /// </summary>
    private async Task AwaitSamplerNodesAsync(TimeSpan timeout, CancellationToken ct)
    {
        var until = DateTime.UtcNow + timeout;
        foreach (var (name, router) in SamplerPools)
            while (true)
            {
                var routees = await router.Ask<Akka.Routing.Routees>(Akka.Routing.GetRoutees.Instance, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
                if (routees.Members.Any()) break;
                if (DateTime.UtcNow >= until)
                {
                    System.Log.Warning("no node with the sampler role is up after {0}: '{1}' jobs wait for one (start a node with --roles sampler)", timeout, name);
                    return;
                }
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
    }

    private IActorRef Singleton(Props props, string name)
    {
        if (Settings.HasRole("gateway"))
            System.ActorOf(ClusterSingletonManager.Props(props, StopSingleton.Instance, ClusterSingletonManagerSettings.Create(System).WithRole("gateway")), name);
        return System.ActorOf(ClusterSingletonProxy.Props("/user/" + name, ClusterSingletonProxySettings.Create(System).WithRole("gateway")), name + "-proxy");
    }

    private static string Sanitize(string s) => new(s.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' ? ch : '_').ToArray());

    public async ValueTask DisposeAsync()
    {
        // Leaves the cluster, hands shards off and stops persistence cleanly (the write queue completes).
        var shutdown = CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);
        await Task.WhenAny(shutdown, Task.Delay(TimeSpan.FromSeconds(15))).ConfigureAwait(false);
        await System.Terminate().ConfigureAwait(false);
    }
}
