using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.Event;
using Akka.Hosting;
using LinqToDB;
using LinqToDB.Interceptors;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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
/// The system lives in a Microsoft.Extensions.Hosting host through Akka.Hosting (docs/architecture.md, "The host"):
/// <see cref="AddTo"/> puts it into a host's services, <see cref="StartHostAsync"/> starts that host and disposing this
/// object stops it. <see cref="StartAsync(QaSettings, QaServices, CancellationToken)"/> does both with a generic host
/// of its own; a node on the api role starts its web application the same way.
/// </summary>
public sealed class QaActorSystem : IAsyncDisposable
{
    private ActorSystem? _system;
    private ActorRegistry? _registry;
    private IHost? _host;
    private int _disposed;
    private bool _hostStarting;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _startCancelled = new();

    public ActorSystem System => _system ?? throw new InvalidOperationException("the actor system has not been started (QaActorSystem.StartHostAsync)");
    public QaSettings Settings { get; }
    public QaServices Services { get; }
    /// <summary>The actors below are kept in Akka.Hosting's <see cref="ActorRegistry"/> (the key is the actor's class), where the host's services find them too.</summary>
    public ActorRegistry ActorRegistry => _registry ?? throw new InvalidOperationException("the actor system has not been started (QaActorSystem.StartHostAsync)");
    public IActorRef Trainers => ActorRegistry.Get<TrainerActor>();
    public IActorRef QuotaLedger => ActorRegistry.Get<QuotaLedgerActor>();
    public IActorRef Registry => ActorRegistry.Get<ExperimentRegistryActor>();
    /// <summary>The user registry (users, hashed tokens, admin flags, fair-share weights): a singleton like the ledger.</summary>
    public IActorRef Users => ActorRegistry.Get<global::QaActors.Orchestration.Users.UserRegistryActor>();
    public IActorRef BqmWorkers => ActorRegistry.Get<BqmWorker>();
    /// <summary>The campaign shard (managers keyed by campaign id) and the campaign registry (docs/campaigns.md, "On a node").</summary>
    public IActorRef Campaigns => ActorRegistry.Get<global::QaActors.Orchestration.Campaigns.CampaignManagerActor>();
    public IActorRef CampaignRegistry => ActorRegistry.Get<global::QaActors.Orchestration.Campaigns.CampaignRegistryActor>();
    /// <summary>By sampler name; the registry keys one actor per class, so the pools (and the gateways, by solver) are kept here.</summary>
    public IReadOnlyDictionary<string, IActorRef> SamplerPools { get; private set; } = new Dictionary<string, IActorRef>();
    private readonly Dictionary<string, IActorRef> _gateways = new(StringComparer.Ordinal);

    private QaActorSystem(QaSettings settings, QaServices services)
    {
        Settings = settings;
        Services = services;
    }

    /// <summary>The gateway (singleton proxy) of a solver, or null when no backend was given for it.</summary>
    public IActorRef? GatewayFor(string solver) => _gateways.TryGetValue(solver, out var g) ? g : null;

    /// <summary>Starts the actor system in a generic host of its own (the embedded node of a `qa` command, a node without the api role, tests).</summary>
    public static Task<QaActorSystem> StartAsync(QaSettings settings, QaServices services, CancellationToken cancellationToken = default)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        AddTo(builder.Services, settings, services);
        return StartHostAsync(builder.Build(), cancellationToken);
    }

    /// <summary>
    /// Adds the actor system to a host's services: Akka.Hosting with the HOCON of <paramref name="settings"/> as its
    /// whole configuration (hocon/ stays the one place it lives; no Akka.Hosting option adds settings of its own), the
    /// SQLite journal's linq2db options as a setup, and one actor starter that joins the cluster, checks the journal's
    /// identity and starts the actors. The <see cref="QaActorSystem"/> is a service of the host.
    /// </summary>
    public static void AddTo(IServiceCollection serviceCollection, QaSettings settings, QaServices services)
    {
        var qa = new QaActorSystem(settings, services);
        // An instance, not a factory: the container does not dispose it; disposing it stops the host instead.
        serviceCollection.AddSingleton(qa);
        serviceCollection.AddAkka(settings.SystemName, builder =>
        {
            builder.AddHocon(settings.Akka, HoconAddMode.Replace);
            if (settings.Provider == "sqlite")
                builder.AddSetup(new Akka.Persistence.Sql.Config.DataOptionsSetup(SqliteJournalOptions(
                    settings.Akka.GetString("akka.persistence.journal.sql.connection-string"), settings.SqliteSynchronous)));
            builder.WithActors((system, registry) => qa.BootAsync(system, (ActorRegistry)registry));
        });
        // Akka.Hosting's service runs the starter; this one, started after it, fails the host's start with the
        // starter's own error (a join timeout names its setting) before anything after it (the API) starts.
        serviceCollection.AddHostedService(_ => new StartGate(qa._started.Task));
        // The command owns Ctrl-C and SIGTERM (Cli.RunAsync, `qa node`) and stops the host itself; the default console
        // lifetime would answer the same signals a second time.
        serviceCollection.AddSingleton<IHostLifetime, CommandLifetime>();
    }

    /// <summary>
    /// Starts a host built with <see cref="AddTo"/>; the returned system owns it (disposing stops it). A start that fails
    /// stops the host and throws the failure as the starter met it.
    /// </summary>
    public static async Task<QaActorSystem> StartHostAsync(IHost host, CancellationToken cancellationToken = default)
    {
        var qa = host.Services.GetRequiredService<QaActorSystem>();
        qa._host = host;
        try
        {
            Directory.CreateDirectory(qa.Settings.DataDir);
            if (qa.Settings.Provider == "sqlite") UseWriteAheadLog(qa.Settings.Akka.GetString("akka.persistence.journal.sql.connection-string"));
            // The system is made here, before the host starts, so that one that cannot start (a cluster port in use)
            // throws to the caller; inside its hosted service Akka.Hosting writes such a failure with its stack to stdout.
            qa._system = host.Services.GetRequiredService<ActorSystem>();
            using var cancel = cancellationToken.Register(qa._startCancelled.Cancel);
            qa._hostStarting = true;
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            return qa;
        }
        catch (Exception failure)
        {
            try { await qa.DisposeAsync().ConfigureAwait(false); }
            catch (Exception stopFailure) { throw new AggregateException(failure, stopFailure); }
            throw;
        }
    }

    /// <summary>
    /// Akka.Hosting's actor starter. It never throws: Akka.Hosting would write the exception with its stack to stdout;
    /// the outcome goes to <see cref="StartGate"/>, which fails the host's start with it.
    /// </summary>
    private async Task BootAsync(ActorSystem system, ActorRegistry registry)
    {
        try
        {
            _system = system;
            _registry = registry;
            var settings = Settings;
            var cancellationToken = _startCancelled.Token;
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
            // Before any actor that writes: a journal that is not this node's is refused untouched.
            if (JournalLocation(settings) is var (journalName, marker))
                await JournalIdentity.EnsureAsync(system, marker, journalName, settings.JoinTimeout).ConfigureAwait(false);
            StartActors(registry);
            if (!settings.HasRole("sampler")) await AwaitSamplerNodesAsync(settings.JoinTimeout, cancellationToken).ConfigureAwait(false);
            _started.TrySetResult();
        }
        catch (Exception e)
        {
            _started.TrySetException(e);
        }
    }

    private sealed class StartGate(Task started) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => started;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>A host lifetime that leaves the process's signals to the command that runs the host.</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
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

    private void StartActors(ActorRegistry registry)
    {
        int pool = Settings.SamplerPoolSize;
        int builders = Environment.ProcessorCount;
        var bqmWorkers = System.ActorOf(BqmWorker.Pool(builders), "bqm-workers");
        registry.Register<BqmWorker>(bqmWorkers);
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
        var ledger = Singleton(QuotaLedgerActor.SupervisedProps(Settings.Quotas), "quota-ledger");
        registry.Register<QuotaLedgerActor>(ledger);
        registry.Register<ExperimentRegistryActor>(Singleton(ExperimentRegistryActor.SupervisedProps(), "experiment-registry"));
        var users = Singleton(QaActors.Orchestration.Users.UserRegistryActor.SupervisedProps(), "users");
        registry.Register<QaActors.Orchestration.Users.UserRegistryActor>(users);
        foreach (var (solver, backend) in Services.QpuBackends)
            _gateways[solver] = Singleton(QpuGatewayActor.Props(backend, ledger, pools, Settings.Gateway, Settings.Quotas, Services.Clock, users),
                "qpu-gateway-" + Sanitize(solver));

        var trainerServices = new TrainerServices
        {
            ProcedureFor = Services.ProcedureFor,
            BqmWorkers = bqmWorkers,
            BqmWorkerCount = builders,
            SamplerPools = pools,
            GatewayFor = GatewayFor,
            Settings = Settings.Trainer,
            PassivateWhenIdle = true,
            ContinueWhenRestored = System.Settings.Config.GetBoolean("akka.cluster.sharding.remember-entities"),
        };
        // Trainer entities live on nodes with the trainer role; other nodes reach them through a proxy region.
        var sharding = ClusterSharding.Get(System);
        registry.Register<TrainerActor>(Settings.HasRole("trainer")
            ? sharding.Start("trainer", id => TrainerActor.Props(id, trainerServices), ClusterShardingSettings.Create(System).WithRole("trainer"), new ExperimentMessageExtractor())
            : sharding.StartProxy("trainer", "trainer", new ExperimentMessageExtractor()));
        var (campaigns, campaignRegistry) = global::QaActors.Orchestration.Campaigns.CampaignCluster.Start(this, Singleton);
        registry.Register<global::QaActors.Orchestration.Campaigns.CampaignManagerActor>(campaigns);
        registry.Register<global::QaActors.Orchestration.Campaigns.CampaignRegistryActor>(campaignRegistry);
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

    /// <summary>
    /// Stops the host: the services that started after the actor system (the API) stop first, then Akka.Hosting's runs
    /// CoordinatedShutdown, which leaves the cluster, hands shards and singletons off and lets persistence finish its
    /// write queue. The API gets 3 s to close its connections (a live-event stream would hold it open); the system,
    /// 15 s in all before it is terminated outright.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _startCancelled.Cancel();
        try
        {
            if (_host is { } host && _hostStarting)
            {
                using var api = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                var stop = host.StopAsync(api.Token);
                // A service that failed to stop is the caller's to hear of; one that hangs is cut off with the system.
                if (await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(18))).ConfigureAwait(false) == stop) await stop.ConfigureAwait(false);
            }
        }
        finally
        {
            if (_system is { } system) await system.Terminate().ConfigureAwait(false);
            if (_host is IAsyncDisposable disposable) await disposable.DisposeAsync().ConfigureAwait(false);
            else _host?.Dispose();
            _startCancelled.Dispose();
        }
    }
}
