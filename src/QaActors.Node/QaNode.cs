using System.Net;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
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
/// (docs/architecture.md, "The node and its API"), bound to qa.api.listen (loopback unless configured). It owns its data
/// dir's journal while it runs (<see cref="DataDirLock"/>). Disposing it leaves the cluster gracefully (shards and
/// singletons are handed over) and stops the API.
/// </summary>
public sealed class QaNode : IAsyncDisposable
{
    private readonly DataDirLock? _lock;
    private readonly WebApplication? _app;

    public QaActorSystem System { get; }
    public Uri? ApiUrl { get; }
    public string ClusterAddress { get; }
    /// <summary>The admin-token file this start created (the first node of a new cluster), else null.</summary>
    public string? AdminTokenPath { get; }
    public NodeExperiments Experiments { get; }

    private QaNode(QaActorSystem system, DataDirLock? dirLock, WebApplication? app, Uri? api, NodeExperiments experiments, string? adminTokenPath)
    {
        System = system;
        _lock = dirLock;
        _app = app;
        ApiUrl = api;
        Experiments = experiments;
        AdminTokenPath = adminTokenPath;
        ClusterAddress = Cluster.Get(system.System).SelfAddress.ToString();
    }

    public static async Task<QaNode> StartAsync(NodeOptions options, CancellationToken ct = default)
    {
        var settings = options.Settings;
        string dataDir = settings.DataDir;
        var dirLock = DataDirLock.TryAcquire(dataDir, out var owner)
            ?? throw new NodeStartException($"another QaActors node (pid {owner?.Pid.ToString() ?? "unknown"}{(owner?.ApiUrl is { } u ? $", API {u}" : "")}) owns {dataDir}; stop it first, or give this node another --data-dir");
        QaActorSystem? system = null;
        WebApplication? app = null;
        try
        {
            system = await QaActorSystem.StartAsync(settings, options.Services, ct).ConfigureAwait(false);
            var experiments = new NodeExperiments(system, Path.Combine(dataDir, "artifacts"), options.WriteArtifacts, options.DatasetDir ?? dataDir);
            Uri? api = null;
            string? adminPath = null;
            if (settings.HasRole("api"))
            {
                // The first node of a new cluster makes the first admin and leaves its token in the data dir.
                adminPath = await QaActors.Orchestration.Users.AdminTokenFile.EnsureFirstAdminAsync(system.Users, dataDir, settings.Trainer.AskTimeout).ConfigureAwait(false);
                var authenticator = new QaActors.Orchestration.Users.ApiAuthenticator(system.Users, new QaActors.Orchestration.Users.BadTokenLimiter(), TimeSpan.FromSeconds(10));
                app = BuildApi(settings, system, experiments, authenticator);
                await app.StartAsync(ct).ConfigureAwait(false);
                var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
                api = new Uri(addresses.First());
            }
            var node = new QaNode(system, dirLock, app, api, experiments, adminPath);
            dirLock.Describe(new NodeInfo(Environment.ProcessId, api?.ToString(), node.ClusterAddress, DateTimeOffset.UtcNow));
            return node;
        }
        catch
        {
            if (app is not null) await app.DisposeAsync().ConfigureAwait(false);
            if (system is not null) await system.DisposeAsync().ConfigureAwait(false);
            dirLock.Dispose();
            throw;
        }
    }

    private static (string Host, int Port) ParseListen(string listen)
    {
        int colon = listen.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(listen[(colon + 1)..], out int port) || port is < 0 or > 65535)
            throw new NodeStartException($"qa.api.listen / --api '{listen}' is not HOST:PORT (e.g. 127.0.0.1:4180; port 0 picks a free one)");
        return (listen[..colon].Trim('[', ']'), port);
    }

    private static WebApplication BuildApi(QaActors.Orchestration.Configuration.QaSettings settings, QaActorSystem system, NodeExperiments experiments, QaActors.Orchestration.Users.ApiAuthenticator authenticator)
    {
        var (host, port) = ParseListen(settings.ApiListen);
        var builder = WebApplication.CreateSlimBuilder();
        // Warnings and errors of the API to stderr, one line each; request headers (tokens) are never logged.
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; }).SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Authentication", LogLevel.Error);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = settings.ApiMaxRequestBody;
            if (host is "localhost") k.ListenLocalhost(port);
            else k.Listen(IPAddress.TryParse(host, out var ip) ? ip : throw new NodeStartException($"--api host '{host}' is not an IP address; use e.g. 127.0.0.1 or 0.0.0.0"), port);
        });
        builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy("user", p => p.RequireAuthenticatedUser())
            .AddPolicy("admin", p => p.RequireRole(BearerTokenHandler.AdminRole));
        builder.Services.AddSingleton(authenticator);
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
        NodeApi.Map(app, system, experiments);
        return app;
    }

    /// <summary>Stops the API, leaves the cluster (handing shards and singletons over) and releases the data dir.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await _app.StopAsync(stop.Token).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        await System.DisposeAsync().ConfigureAwait(false);
        _lock?.Dispose();
    }
}

public sealed class NodeStartException(string message) : Exception(message);
