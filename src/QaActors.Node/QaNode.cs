using System.Net;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using QaActors.Orchestration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Training;

namespace QaActors.Node;

/// <summary>What the host program plugs into a node.</summary>
public sealed record NodeOptions
{
    public required QaActors.Orchestration.Configuration.QaSettings Settings { get; init; }
    public required QaServices Services { get; init; }
    /// <summary>Writes an ended experiment's artefacts (model, metrics, curves, report) into a folder.</summary>
    public required Func<ExperimentResult, string, Task> WriteArtifacts { get; init; }
    /// <summary>Where the datasets are read (the node's own, never the client's).</summary>
    public string? DatasetDir { get; init; }
}

/// <summary>
/// A long-lived QaActors node (`qa node`): the actor system with this node's roles, and on the api role the HTTP API
/// (docs/architecture.md, "The node and its API"), bound to qa.api.listen (loopback unless configured). On the api role
/// the actor system is hosted by the API's web application, elsewhere by a generic host (docs/architecture.md, "The
/// host"). It owns its data dir's journal while it runs (<see cref="DataDirLock"/>). Disposing it stops the host: the
/// API, then the actor system, which leaves the cluster gracefully (shards and singletons are handed over).
/// </summary>
public sealed class QaNode : IAsyncDisposable
{
    private readonly DataDirLock? _lock;

    public QaActorSystem System { get; }
    public Uri? ApiUrl { get; }
    public string ClusterAddress { get; }
    /// <summary>The admin-token file this start created (the first node of a new cluster), else null.</summary>
    public string? AdminTokenPath { get; }
    public NodeExperiments Experiments { get; }

    private QaNode(QaActorSystem system, DataDirLock? dirLock, Uri? api, NodeExperiments experiments, string? adminTokenPath)
    {
        System = system;
        _lock = dirLock;
        ApiUrl = api;
        Experiments = experiments;
        AdminTokenPath = adminTokenPath;
        ClusterAddress = Cluster.Get(system.System).SelfAddress.ToString();
    }

    /// <summary>Completes when the node's actor system has terminated (stopped, or downed by the cluster).</summary>
    public Task WhenTerminated => System.System.WhenTerminated;

    public static async Task<QaNode> StartAsync(NodeOptions options, CancellationToken ct = default)
    {
        var settings = options.Settings;
        string dataDir = settings.DataDir;
        // The lock before the actor system: a second node on this data dir never opens its journal.
        var dirLock = DataDirLock.TryAcquire(dataDir, out var owner)
            ?? throw new NodeStartException($"another QaActors node (pid {owner?.Pid.ToString() ?? "unknown"}{(owner?.ApiUrl is { } u ? $", API {u}" : "")}) owns {dataDir}; stop it first, or give this node another --data-dir");
        QaActorSystem? system = null;
        try
        {
            PortCheck.EnsureFree(settings.Akka.GetString("akka.remote.dot-netty.tcp.hostname", "127.0.0.1"),
                settings.Akka.GetInt("akka.remote.dot-netty.tcp.port"), "cluster port", "--port / qa.node.port");
            var listen = settings.HasRole("api") ? ParseListen(settings.ApiListen) : default;
            if (settings.HasRole("api")) PortCheck.EnsureFree(listen.Host, listen.Port, "API address", "--api / qa.api.listen");
            NodeExperiments experiments;
            Uri? api = null;
            string? adminPath = null;
            if (settings.HasRole("api"))
            {
                var app = BuildApi(options, listen.Host, listen.Port);
                system = await QaActorSystem.StartHostAsync(app, ct).ConfigureAwait(false);
                experiments = app.Services.GetRequiredService<NodeExperiments>();
                adminPath = app.Services.GetRequiredService<FirstAdmin>().Path;
                var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
                api = new Uri(addresses.First());
            }
            else
            {
                system = await QaActorSystem.StartAsync(settings, options.Services, ct).ConfigureAwait(false);
                experiments = NewExperiments(system, options);
            }
            var node = new QaNode(system, dirLock, api, experiments, adminPath);
            dirLock.Describe(new NodeInfo(Environment.ProcessId, api?.ToString(), node.ClusterAddress, DateTimeOffset.UtcNow));
            return node;
        }
        catch (Exception e)
        {
            if (system is not null) await system.DisposeAsync().ConfigureAwait(false);
            dirLock.Dispose();
            if (PortCheck.AsStartError(e) is { } taken) throw taken;
            throw;
        }
    }

    private static NodeExperiments NewExperiments(QaActorSystem system, NodeOptions options) =>
        new(system, Path.Combine(options.Settings.DataDir, "artifacts"), options.WriteArtifacts, options.DatasetDir ?? options.Settings.DataDir);

    /// <summary>
    /// Started by the web host after the actor system and before the server: the first node of a new cluster makes the
    /// first admin and leaves its token in the data dir, before any request can come.
    /// </summary>
    private sealed class FirstAdmin(QaActorSystem system) : IHostedService
    {
        public string? Path { get; private set; }

        public async Task StartAsync(CancellationToken cancellationToken) =>
            Path = await QaActors.Orchestration.Users.AdminTokenFile.EnsureFirstAdminAsync(system.Users, system.Settings.DataDir, system.Settings.Trainer.AskTimeout).ConfigureAwait(false);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static (string Host, int Port) ParseListen(string listen)
    {
        int colon = listen.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(listen[(colon + 1)..], out int port) || port is < 0 or > 65535)
            throw new NodeStartException($"qa.api.listen / --api '{listen}' is not HOST:PORT (e.g. 127.0.0.1:4180; port 0 picks a free one)");
        return (listen[..colon].Trim('[', ']'), port);
    }

    /// <summary>
    /// The web application that hosts the node: the actor system (<see cref="QaActorSystem.AddTo"/>) and, started after
    /// it, the first-admin step and the server. The handlers find the system, the node's experiments and the
    /// authenticator among its services.
    /// </summary>
    private static WebApplication BuildApi(NodeOptions options, string host, int port)
    {
        var settings = options.Settings;
        // The content root is the program's folder, not the working directory: the host watches its content root for
        // configuration files (which the node does not use; hocon/ is its configuration), and a data dir under the
        // working directory would have every journal write go through that watcher.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        // Warnings and errors of the API to stderr, one line each; request headers (tokens) are never logged.
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; }).SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Authentication", LogLevel.Error);
        // A host that fails to start (a join timeout, a refused journal) throws to `qa node`, which says so in one line;
        // the host's own error log of it would add the exception's stack.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = settings.ApiMaxRequestBody;
            if (host is "localhost") k.ListenLocalhost(port);
            else k.Listen(IPAddress.TryParse(host, out var ip) ? ip : throw new NodeStartException($"--api host '{host}' is not an IP address; use e.g. 127.0.0.1 or 0.0.0.0"), port);
        });
        // Bearer tokens need no data protection, which authentication brings along: its default writes an unencrypted
        // key ring into the user's home folder at the first start. Its keys live in memory here, and its warning that
        // a key "may be persisted unencrypted" no longer applies.
        builder.Services.AddDataProtection().AddKeyManagementOptions(o => o.XmlRepository = new MemoryKeyRepository());
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy("user", p => p.RequireAuthenticatedUser())
            .AddPolicy("admin", p => p.RequireRole(BearerTokenHandler.AdminRole));
        QaActorSystem.AddTo(builder.Services, settings, options.Services);
        builder.Services.AddSingleton(sp => NewExperiments(sp.GetRequiredService<QaActorSystem>(), options));
        builder.Services.AddSingleton<FirstAdmin>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FirstAdmin>());
        // Made at the first request, when the user registry has been started.
        builder.Services.AddSingleton(sp => new QaActors.Orchestration.Users.ApiAuthenticator(
            sp.GetRequiredService<QaActorSystem>().Users, new QaActors.Orchestration.Users.BadTokenLimiter(), TimeSpan.FromSeconds(10)));
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.NumberHandling = global::System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals);
        var app = builder.Build();
        // An unexpected failure answers a JSON error, never an empty 500 or .NET text; the details go to the node's log.
        app.UseExceptionHandler(e => e.Run(async ctx =>
        {
            var error = ctx.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error;
            bool timeout = error is Akka.Actor.AskTimeoutException or TimeoutException;
            ctx.Response.StatusCode = timeout ? 503 : 500;
            await ctx.Response.WriteAsJsonAsync(new ApiError(timeout ? "the cluster did not answer in time; retry" : "internal error; the node's log has the details"));
        }));
        app.UseAuthentication();
        app.UseAuthorization();
        NodeApi.Map(app);
        return app;
    }

    /// <summary>Stops the host (the API, then the actor system, which leaves the cluster handing shards and singletons over) and releases the data dir.</summary>
    public async ValueTask DisposeAsync()
    {
        await System.DisposeAsync().ConfigureAwait(false);
        _lock?.Dispose();
    }
}

public sealed class NodeStartException(string message) : Exception(message);

/// <summary>The data-protection key ring in memory only (see <see cref="QaNode"/>'s API setup).</summary>
internal sealed class MemoryKeyRepository : Microsoft.AspNetCore.DataProtection.Repositories.IXmlRepository
{
    private readonly List<System.Xml.Linq.XElement> _keys = [];

    public IReadOnlyCollection<System.Xml.Linq.XElement> GetAllElements() { lock (_keys) return _keys.Select(k => new System.Xml.Linq.XElement(k)).ToArray(); }

    public void StoreElement(System.Xml.Linq.XElement element, string friendlyName) { lock (_keys) _keys.Add(new System.Xml.Linq.XElement(element)); }
}
