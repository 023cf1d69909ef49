using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Hashing;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using QaActors.DWave.Sapi;
using QaActors.Sampling;

namespace QaActors.DWave.Simulator;

/// <summary>
/// A SAPI-compatible simulated QPU on loopback (the <c>qa sapi-sim</c> command hosts it). It speaks the subset
/// of SAPI v2 that <see cref="SapiClient"/> uses (wire facts: docs/dwave.md, "The SAPI protocol as the client uses it"):
/// <c>GET solvers/remote/[name/]</c>, <c>POST problems/</c> (qp format, deflate accepted), long-poll
/// <c>GET problems/?id=…&amp;timeout=N</c>, <c>GET problems/{id}/</c>, <c>GET problems/{id}/answer/</c>,
/// <c>DELETE problems/{id}/</c> and <c>DELETE problems/</c>; authentication by <c>X-Auth-Token</c>.
/// Simulator-only endpoints: <c>GET _sim/usage</c> (the caller's charged access time) and <c>POST _sim/faults</c>
/// (apply fault keys at runtime). Problems are sampled by the injected <see cref="ISampler"/> at β_hw after
/// Gaussian control errors; timing follows the published model (programming + reads × (anneal + readout + delay)).
/// </summary>
public sealed class SapiSimulator : IAsyncDisposable
{
    private const string Media = "application/vnd.dwave.sapi.";
    private readonly SapiSimulatorOptions _o;
    // The properties JSON of a P16 solver is about a megabyte: serialised once, spliced into every solver response.
    private readonly Dictionary<string, SimulatedQpu> _solvers;
    private readonly HashSet<string> _tokens;
    private readonly ConcurrentDictionary<string, SimProblem> _problems = new();
    private readonly ConcurrentDictionary<string, UsageCell> _usage = new();
    private readonly SemaphoreSlim _qpu;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private WebApplication? _app;
    private Task? _supervisor;
    private long _counter;

    public SimulatorFaults Faults { get; } = new();
    public int Port { get; private set; }
    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri BaseUrl => new($"http://{(_o.Host.Contains(':') ? $"[{_o.Host}]" : _o.Host)}:{Port}/");
    /// <summary>The SAPI endpoint to configure clients with: http://127.0.0.1:PORT/sapi/v2/</summary>
    public Uri SapiEndpoint => new(BaseUrl, "sapi/v2/");
    public bool IsListening => _app is not null;
    /// <summary>The region code the simulator's Metadata API (<c>GET /metadata/v1/regions/</c>) lists for its own endpoint.</summary>
    public const string RegionCode = "sim-local-1";
    /// <summary>http://127.0.0.1:PORT/metadata/v1/</summary>
    public Uri MetadataEndpoint => new(BaseUrl, "metadata/v1/");
    public IReadOnlyList<SimulatedSolverSpec> Solvers => _o.Solvers;
    /// <summary>The QPU model behind each solver, the same objects the HTTP surface samples with.</summary>
    public SimulatedQpu Qpu(string solverName) => _solvers[solverName];
    /// <summary>Problems accepted so far (any status), for tests and drills.</summary>
    public int ProblemCount => _problems.Count;

    private SapiSimulator(SapiSimulatorOptions options)
    {
        options.Validate();
        _o = options;
        _tokens = options.Tokens.ToHashSet(StringComparer.Ordinal);
        _qpu = new SemaphoreSlim(options.MaxConcurrentProblems, options.MaxConcurrentProblems);
        var model = options.Model;
        _solvers = options.Solvers.ToDictionary(s => s.Name, s => new SimulatedQpu(s, model));
        Faults.SolverWentOffline += FailQueuedOn;
    }

    /// <summary>Starts listening; with port 0 a free port is chosen (see <see cref="Port"/>, <see cref="SapiEndpoint"/>).</summary>
    public static async Task<SapiSimulator> StartAsync(SapiSimulatorOptions options, CancellationToken ct = default)
    {
        var sim = new SapiSimulator(options);
        sim.Port = options.Port;
        await sim.StartListeningAsync(ct).ConfigureAwait(false);
        sim._supervisor = Task.Run(() => sim.SuperviseAsync(sim._disposing.Token));
        return sim;
    }

    /// <summary>Access time charged so far to <paramref name="token"/> (in-process form of <c>GET _sim/usage</c>).</summary>
    public SimulatorUsage Usage(string token) =>
        _usage.TryGetValue(token, out var c) ? c.Snapshot() : new SimulatorUsage(0, 0);

    // ------------------------------------------------------------ hosting

    public async Task StartListeningAsync(CancellationToken ct = default)
    {
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_app is not null) return;
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(2));
            var ip = IPAddress.Parse(_o.Host);
            builder.WebHost.ConfigureKestrel(k => k.Listen(ip, Port));
            var app = builder.Build();
            MapEndpoints(app);
            await app.StartAsync(ct).ConfigureAwait(false);
            var addr = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            Port = new Uri(addr).Port;
            _app = app;
            _o.Log?.Invoke($"sapi-sim listening on {SapiEndpoint}");
        }
        finally { _lifecycle.Release(); }
    }

    /// <summary>Closes the listener: new connections are refused until <see cref="StartListeningAsync"/>.</summary>
    public async Task StopListeningAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_app is null) return;
            var app = _app;
            _app = null;
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await app.StopAsync(cts.Token).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            _o.Log?.Invoke("sapi-sim stopped listening");
        }
        finally { _lifecycle.Release(); }
    }

    /// <summary>Follows "refuse" outage windows: closes the listener inside one and reopens it (same port) after.</summary>
    private async Task SuperviseAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                bool refuse = Faults.ActiveOutage(out _) == OutageMode.Refuse;
                if (refuse && IsListening) await StopListeningAsync().ConfigureAwait(false);
                else if (!refuse && !IsListening) await StartListeningAsync(ct).ConfigureAwait(false);
                await Task.Delay(20, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (IOException e)
            {
                // Rebinding can race with the old socket's teardown; say so and try again on the next tick.
                _o.Log?.Invoke($"sapi-sim could not reopen port {Port}: {e.Message}");
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposing.Cancel();
        if (_supervisor is not null)
        {
            try { await _supervisor.ConfigureAwait(false); }
            catch (OperationCanceledException) { /* the supervisor ends by cancellation */ }
        }
        foreach (var p in _problems.Values) p.Cts.Cancel();
        await StopListeningAsync().ConfigureAwait(false);
        _disposing.Dispose();
    }

    /// <summary>Runs until <paramref name="ct"/> is cancelled (for the CLI's foreground mode).</summary>
    public async Task WaitUntilCancelledAsync(CancellationToken ct)
    {
        try { await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false); }
        catch (OperationCanceledException) { /* normal end of the foreground run */ }
    }

    // ------------------------------------------------------------ HTTP surface

    // SAPI's timestamp form (e.g. 2022-09-01T17:55:00.877038Z): UTC, microseconds, 'Z'.
    internal static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// The X-Deprecation header for a request without an API version in Accept: an RFC 9651 list of tokens with
    /// parameters <c>context</c>, <c>message</c>, <c>sunset</c> (a Date, @seconds), the Leap format that
    /// dwave-cloud-client 0.14 parses (<c>api/client.py: DeprecationAwareSessionMixin</c>, <c>api/models.py: DeprecationMessage</c>).
    /// </summary>
    internal static readonly string AcceptVersionDeprecation =
        "accept-version-missing;context=\"api\";message=\"Requests without a version in the Accept header are deprecated; send Accept: <media type>; version=3.0.0.\";sunset=@"
        + new DateTimeOffset(2027, 12, 31, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private void MapEndpoints(WebApplication app)
    {
        // A response that would otherwise go out with an error status and no body (405, a bare 404 from routing)
        // gets SAPI's JSON error body, so clients always have a message to show.
        app.UseStatusCodePages(async sc =>
        {
            var ctx = sc.HttpContext;
            int code = ctx.Response.StatusCode;
            string msg = code switch
            {
                404 => $"no such resource: {ctx.Request.Method} {ctx.Request.Path}",
                405 => $"method {ctx.Request.Method} is not allowed on {ctx.Request.Path}",
                _ => $"request failed with status {code}",
            };
            await Error(ctx, code, msg).ConfigureAwait(false);
        });
        app.Use(async (ctx, next) =>
        {
            var path = ctx.Request.Path.Value ?? "";
            if (path.TrimEnd('/') == "/metadata/v1/regions" && HttpMethods.IsGet(ctx.Request.Method))
            {
                // A Metadata API for the simulator (public, as Leap's is): one region, served here, so that
                // DWAVE_METADATA_API_ENDPOINT + DWAVE_API_REGION can be exercised end to end.
                await Json(ctx, 200, new JsonArray(new JsonObject { ["code"] = RegionCode, ["name"] = "QaActors simulator", ["endpoint"] = SapiEndpoint.AbsoluteUri }),
                    "application/vnd.dwave.metadata.regions+json").ConfigureAwait(false);
                return;
            }
            if (!path.StartsWith("/sapi/v2/", StringComparison.Ordinal) && path != "/sapi/v2")
            {
                await Error(ctx, 404, $"no such resource {path}; the SAPI base is /sapi/v2/").ConfigureAwait(false);
                return;
            }
            bool admin = path.StartsWith("/sapi/v2/_sim/", StringComparison.Ordinal);
            if (!admin)
            {
                if (Faults.ActiveOutage(out var ra) == OutageMode.Http503)
                {
                    if (ra is { } r) ctx.Response.Headers.RetryAfter = ((int)Math.Ceiling(r.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                    await Error(ctx, 503, "Service Unavailable (simulated outage)").ConfigureAwait(false);
                    return;
                }
                if (Faults.Take5xx(ctx.Request.Method))
                {
                    await Error(ctx, 503, "Service Unavailable (simulated transient error)").ConfigureAwait(false);
                    return;
                }
                if (Faults.TakeRateLimit(ctx.Request.Method, out var after))
                {
                    ctx.Response.Headers.RetryAfter = Math.Max(0, (int)Math.Ceiling(after.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                    await Error(ctx, 429, "API request rate exceeds the permissible limit (simulated)").ConfigureAwait(false);
                    return;
                }
            }
            if (!admin && HttpMethods.IsGet(ctx.Request.Method) && HiddenAnswer(ctx, path) is { } drop)
            {
                // A lost answer (faults.lose-answers): the problem ran and was charged, but nothing about it gets through.
                if (drop) { ctx.Abort(); return; }
                await Error(ctx, 503, "Service Unavailable (simulated: the answer cannot be fetched now)").ConfigureAwait(false);
                return;
            }
            string? token = ctx.Request.Headers["X-Auth-Token"].FirstOrDefault();
            if (token is null || !_tokens.Contains(token))
            {
                await Error(ctx, 401, "Invalid token or access denied").ConfigureAwait(false);
                return;
            }
            ctx.Items["token"] = token;
            string accept = ctx.Request.Headers.Accept.ToString();
            int vi = accept.IndexOf("version=", StringComparison.OrdinalIgnoreCase);
            if (vi < 0) ctx.Response.Headers["X-Deprecation"] = AcceptVersionDeprecation;
            else if (!accept[(vi + 8)..].TrimStart('"').StartsWith('3'))
            {
                await Error(ctx, 415, $"unsupported API version in Accept: {accept}; this server speaks 3.x").ConfigureAwait(false);
                return;
            }
            try
            {
                await next(ctx).ConfigureAwait(false);
            }
            catch (BadRequest e) when (!ctx.Response.HasStarted)
            {
                await Error(ctx, e.Code, e.Message).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException && !ctx.Response.HasStarted)
            {
                // A simulator bug must still answer as SAPI does (a JSON body), and be visible in its log.
                _o.Log?.Invoke($"sapi-sim: {ctx.Request.Method} {path} failed: {e}");
                await Error(ctx, 500, $"internal simulator error: {e.Message}").ConfigureAwait(false);
            }
        });

        app.MapGet("/sapi/v2/solvers/remote", ListSolvers);
        app.MapGet("/sapi/v2/solvers/remote/{name}", GetSolver);
        app.MapPost("/sapi/v2/problems", Submit);
        app.MapGet("/sapi/v2/problems", ListProblems);
        app.MapGet("/sapi/v2/problems/{id}", GetProblem);
        app.MapGet("/sapi/v2/problems/{id}/answer", GetAnswer);
        app.MapGet("/sapi/v2/problems/{id}/info", GetInfo);
        app.MapGet("/sapi/v2/problems/{id}/messages", GetMessages);
        app.MapDelete("/sapi/v2/problems/{id}", CancelOne);
        app.MapDelete("/sapi/v2/problems", CancelMany);
        app.MapGet("/sapi/v2/_sim/usage", (Delegate)((HttpContext ctx) =>
        {
            var u = Usage(Token(ctx));
            return Json(ctx, 200, new JsonObject { ["qpu_access_time"] = u.QpuAccessTimeMicroseconds, ["problems_completed"] = u.ProblemsCompleted }, "application/json");
        }));
        app.MapPost("/sapi/v2/_sim/faults", (Delegate)(async (HttpContext ctx) =>
        {
            string text = await new StreamReader(ctx.Request.Body, Encoding.UTF8).ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
            try { SapiSimConfig.ApplyFaults(Faults, text); }
            catch (FormatException e) { await Error(ctx, 400, e.Message).ConfigureAwait(false); return; }
            await Json(ctx, 200, new JsonObject { ["applied"] = true }, "application/json").ConfigureAwait(false);
        }));
        app.MapFallback((Delegate)((HttpContext ctx) => Error(ctx, 404, $"no such resource: {ctx.Request.Method} {ctx.Request.Path}")));
    }

    /// <summary>Null when the request concerns no problem whose answer is hidden now; else whether to drop the connection.</summary>
    private bool? HiddenAnswer(HttpContext ctx, string path)
    {
        const string prefix = "/sapi/v2/problems";
        if (!path.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var ids = new List<string>();
        string rest = path[prefix.Length..].Trim('/');
        if (rest.Length > 0) ids.Add(rest.Split('/')[0]);
        foreach (var v in ctx.Request.Query["id"])
            if (v is not null) ids.AddRange(v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var now = DateTimeOffset.UtcNow;
        foreach (var id in ids)
            if (_problems.TryGetValue(id, out var p) && p.HiddenUntil is { } until && now < until) return p.HideByDropping;
        return null;
    }

    /// <summary>A request the simulator refuses with a 4xx and SAPI's JSON error body.</summary>
    private sealed class BadRequest(int code, string message) : Exception(message)
    {
        public int Code { get; } = code;
    }

    private static string Token(HttpContext ctx) => (string)ctx.Items["token"]!;

    private string RecordOf(string name) =>
        _solvers[name].RecordText(Faults.IsOffline(name) ? "OFFLINE" : "ONLINE", 0.0);

    /// <summary>One solver record after the request's <c>filter</c> (SolverFilter), or whole.</summary>
    private string FilteredRecord(HttpContext ctx, string name)
    {
        string? filter = ctx.Request.Query["filter"].FirstOrDefault();
        if (string.IsNullOrEmpty(filter)) return RecordOf(name);
        var q = _solvers[name];
        try
        {
            return SolverFilter.Apply(filter, q.RecordParts(Faults.IsOffline(name) ? "OFFLINE" : "ONLINE", 0.0), () => q.PropertiesNode);
        }
        catch (FormatException e) { throw new BadRequest(400, e.Message); }
    }

    private Task ListSolvers(HttpContext ctx) =>
        Cached(ctx, "[" + string.Join(",", _solvers.Keys.Select(n => FilteredRecord(ctx, n))) + "]", Media + "solver-definition-list+json");

    private Task GetSolver(HttpContext ctx, string name) =>
        _solvers.ContainsKey(name)
            ? Cached(ctx, FilteredRecord(ctx, name), Media + "solver-definition+json")
            : Error(ctx, 404, $"Solver '{name}' not found");

    /// <summary>
    /// Solver data with an ETag (a hash of the body) and Cache-Control, answering 304 when If-None-Match names
    /// the current ETag (SAPI REST docs; dwave-cloud-client revalidates its solver cache this way). Records that
    /// carry <c>status</c> or <c>avg_load</c> change at runtime and may be cached for a short time only.
    /// </summary>
    private static Task Cached(HttpContext ctx, string body, string media)
    {
        string etag = "\"" + XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(body)).ToString("x16", CultureInfo.InvariantCulture) + "\"";
        bool dynamic = body.Contains("\"status\":", StringComparison.Ordinal) || body.Contains("\"avg_load\":", StringComparison.Ordinal);
        ctx.Response.Headers.ETag = etag;
        ctx.Response.Headers.CacheControl = dynamic ? "private, max-age=15" : "private, max-age=3600";
        foreach (var v in ctx.Request.Headers.IfNoneMatch)
            if (v is not null && v.Split(',').Select(s => s.Trim()).Any(s => s == etag || s == "*"))
            {
                ctx.Response.StatusCode = 304;
                return Task.CompletedTask;
            }
        return Text(ctx, 200, body, media);
    }

    private async Task Submit(HttpContext ctx)
    {
        JsonNode? root;
        try
        {
            Stream body = ctx.Request.Body;
            string enc = ctx.Request.Headers.ContentEncoding.ToString();
            if (enc.Equals("deflate", StringComparison.OrdinalIgnoreCase)) body = new ZLibStream(body, CompressionMode.Decompress);
            else if (enc.Equals("gzip", StringComparison.OrdinalIgnoreCase)) body = new GZipStream(body, CompressionMode.Decompress);
            else if (enc.Length > 0 && !enc.Equals("identity", StringComparison.OrdinalIgnoreCase))
            {
                await Error(ctx, 415, $"Content-Encoding '{enc}' is not supported").ConfigureAwait(false);
                return;
            }
            using var reader = new StreamReader(body, Encoding.UTF8);
            string text = await reader.ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
            root = JsonNode.Parse(text);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            await Error(ctx, 400, $"malformed submission: {e.Message}").ConfigureAwait(false);
            return;
        }
        string token = Token(ctx);
        if (root is JsonObject single)
        {
            // The blocking submit (one job as an object): one status, with the answer if it finishes in time.
            SimProblem p;
            try { p = Accept(single, token); }
            catch (BadRequest e) { await Error(ctx, e.Code, e.Message).ConfigureAwait(false); return; }
            await WaitTerminal(ctx, [p], _o.BlockingSubmitWait).ConfigureAwait(false);
            if (ctx.RequestAborted.IsCancellationRequested) return;
            await Json(ctx, 200, StatusJson(p, withAnswer: true), Media + "problems+json").ConfigureAwait(false);
            return;
        }
        if (root is not JsonArray jobs)
        {
            await Error(ctx, 400, "the body must be a JSON list of problems, or one problem object").ConfigureAwait(false);
            return;
        }
        var results = new JsonArray();
        foreach (var job in jobs)
        {
            try { results.Add(StatusJson(Accept(job as JsonObject ?? throw new BadRequest(400, "each problem must be a JSON object"), token), withAnswer: false)); }
            catch (BadRequest e) { results.Add(new JsonObject { ["error_code"] = e.Code, ["error_msg"] = e.Message }); }
        }
        await Json(ctx, 200, results, Media + "problems+json").ConfigureAwait(false);
    }

    // Typed field readers for submissions: a wrong JSON type is the client's error (400), never a 500.
    private static string ReqString(JsonObject o, string key, string where) =>
        o[key] is JsonValue v && v.TryGetValue(out string? s) ? s
        : throw new BadRequest(400, o.ContainsKey(key) && o[key] is not null
            ? $"{where}'{key}' must be a string, not {SimulatedQpu.Describe(o[key])}"
            : $"{where}'{key}' is required");

    private static string? OptString(JsonObject o, string key, string where) =>
        o[key] is null ? null : ReqString(o, key, where);

    private SimProblem Accept(JsonObject job, string token)
    {
        if (job["solver"] is not JsonObject solverId)
            throw new BadRequest(400, job.ContainsKey("solver")
                ? $"'solver' must be an object {{\"name\": ..., \"version\": {{\"graph_id\": ...}}}}, not {SimulatedQpu.Describe(job["solver"])}"
                : "problem has no solver");
        string name = ReqString(solverId, "name", "solver.");
        if (!_solvers.TryGetValue(name, out var solver)) throw new BadRequest(404, $"Solver '{name}' not found");
        if (solverId["version"] is { } ver)
        {
            if (ver is not JsonObject vo) throw new BadRequest(400, $"'solver.version' must be an object, not {SimulatedQpu.Describe(ver)}");
            if (OptString(vo, "graph_id", "solver.version.") is { } gid && gid != solver.Spec.EffectiveGraphId)
                throw new BadRequest(400, $"solver {name} has graph_id {solver.Spec.EffectiveGraphId}, the problem names {gid}: the working graph changed; fetch the solver again");
        }
        string type = ReqString(job, "type", "");
        if (type is not (QpuProblem.Ising or QpuProblem.Qubo)) throw new BadRequest(400, $"problem type '{type}' is not supported (ising, qubo)");
        if (job["data"] is not JsonObject data)
            throw new BadRequest(400, job.ContainsKey("data") ? $"'data' must be an object, not {SimulatedQpu.Describe(job["data"])}" : "problem has no data");
        if (ReqString(data, "format", "data.") != "qp") throw new BadRequest(400, "only data format 'qp' is supported by QPU solvers");
        double offset = 0;
        if (data["offset"] is { } off)
            offset = off is JsonValue ov && ov.TryGetValue(out double d) ? d : throw new BadRequest(400, $"'data.offset' must be a number, not {SimulatedQpu.Describe(off)}");
        string? label = OptString(job, "label", "");
        JsonObject prm = job["params"] switch
        {
            null => new JsonObject(),
            JsonObject o => o,
            var other => throw new BadRequest(400, $"'params' must be an object, not {SimulatedQpu.Describe(other)}"),
        };
        QpuProblem problem;
        try
        {
            problem = new QpProblemData(ReqString(data, "lin", "data."), ReqString(data, "quad", "data."), offset).Decode(solver.Solver, type);
        }
        catch (SapiException e) { throw new BadRequest(400, e.Message); }
        SimulatedQpu.RunSettings settings;
        try { settings = solver.CheckParameters(problem, prm); }
        catch (SimulatedQpuRejection e) { throw new BadRequest(e.Code, e.Message); }
        if (_problems.Values.Count(p => p.Token == token && !p.IsTerminal) >= _o.MaxQueuedPerToken)
            throw new BadRequest(429, $"at most {_o.MaxQueuedPerToken} unfinished problems per member are allowed");

        long n = Interlocked.Increment(ref _counter);
        var id = $"sim-{n:D8}-{Guid.NewGuid():N}"[..30];
        var p = new SimProblem(id, token, name, type, label, problem, settings, n, DateTimeOffset.UtcNow,
            (JsonObject)data.DeepClone(), (JsonObject)prm.DeepClone());
        _problems[id] = p;
        if (Faults.IsOffline(name)) p.Finish("FAILED", error: "Solver is offline.");
        else _ = Task.Run(() => RunAsync(p));
        return p;
    }

    private static readonly string[] Statuses = ["PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED"];

    /// <summary>
    /// <c>GET problems/</c>: with <c>id</c> a (long-)poll of those problems, otherwise the caller's problem list,
    /// newest first; both filtered by <c>label</c> (substring), <c>status</c>, <c>solver</c> (name) and cut to
    /// <c>max_results</c> (default and most 1000). Ill-formed filters are 400s.
    /// </summary>
    private async Task ListProblems(HttpContext ctx)
    {
        string token = Token(ctx);
        var q = ctx.Request.Query;
        string? status = q["status"].FirstOrDefault();
        if (status is not null && !Statuses.Contains(status))
            throw new BadRequest(400, $"status '{status}' is not one of {string.Join(", ", Statuses)}");
        string? label = q["label"].FirstOrDefault();
        string? solver = q["solver"].FirstOrDefault();
        int max = 1000;
        if (q["max_results"].FirstOrDefault() is { } mr && (!int.TryParse(mr, NumberStyles.None, CultureInfo.InvariantCulture, out max) || max is < 1 or > 1000))
            throw new BadRequest(400, $"max_results '{mr}' must be an integer in 1..1000");
        int timeout = ParseTimeout(q["timeout"].FirstOrDefault());
        bool Keep(SimProblem p) =>
            (status is null || p.Status == status) && (solver is null || p.Solver == solver)
            && (label is null || (p.Label?.Contains(label, StringComparison.Ordinal) ?? false));

        string ids = q["id"].ToString();
        if (ids.Length == 0)
        {
            var list = _problems.Values.Where(p => p.Token == token && Keep(p)).OrderByDescending(p => p.Seq).Take(max).ToList();
            await Json(ctx, 200, new JsonArray(list.Select(p => (JsonNode)StatusJson(p, false)).ToArray()), Media + "problems+json").ConfigureAwait(false);
            return;
        }
        var mine = ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(i => _problems.TryGetValue(i, out var p) && p.Token == token ? p : null).OfType<SimProblem>().ToList();
        if (mine.Count == 0)
        {
            await Error(ctx, 404, "none of the requested problems exist").ConfigureAwait(false);
            return;
        }
        // Long poll: answer as soon as one of them is terminal, or when the timeout passes (1 s without one).
        await WaitTerminal(ctx, mine, TimeSpan.FromSeconds(timeout)).ConfigureAwait(false);
        if (ctx.RequestAborted.IsCancellationRequested) return;
        var shown = mine.Where(Keep).Take(max);
        await Json(ctx, 200, new JsonArray(shown.Select(p => (JsonNode)StatusJson(p, false)).ToArray()), Media + "problems+json").ConfigureAwait(false);
    }

    /// <summary>SAPI accepts a wait of 1–30 whole seconds; without one, a GET waits up to 1 s.</summary>
    private static int ParseTimeout(string? text)
    {
        if (text is null) return 1;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int t) || t is < 1 or > 30)
            throw new BadRequest(400, $"timeout '{text}' must be an integer number of seconds in 1..30");
        return t;
    }

    private async Task WaitTerminal(HttpContext ctx, IReadOnlyList<SimProblem> problems, TimeSpan wait)
    {
        if (problems.Any(p => p.IsTerminal) || wait <= TimeSpan.Zero) return;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _disposing.Token);
        var stopping = ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var reg = stopping.Register(cts.Cancel);
        var delay = Task.Delay(wait, cts.Token);
        await Task.WhenAny(problems.Select(p => p.Done.Task).Append(delay)).ConfigureAwait(false);
    }

    private async Task GetProblem(HttpContext ctx, string id)
    {
        if (Find(ctx, id) is not { } p) { await Error(ctx, 404, $"Problem '{id}' not found").ConfigureAwait(false); return; }
        if (ctx.Request.Query["timeout"].FirstOrDefault() is { } t)
        {
            await WaitTerminal(ctx, [p], TimeSpan.FromSeconds(ParseTimeout(t))).ConfigureAwait(false);
            if (ctx.RequestAborted.IsCancellationRequested) return;
        }
        await Json(ctx, 200, StatusJson(p, withAnswer: true), Media + "problem+json").ConfigureAwait(false);
    }

    private Task GetAnswer(HttpContext ctx, string id)
    {
        if (Find(ctx, id) is not { } p) return Error(ctx, 404, $"Problem '{id}' not found");
        if (p.Answer is null) return Error(ctx, 409, $"Problem '{id}' has no answer (status {p.Status})");
        return Json(ctx, 200, new JsonObject { ["answer"] = p.Answer.DeepClone() }, Media + "problem-answer+json");
    }

    /// <summary><c>GET problems/{id}/info</c>: the submission as sent (data, params) with its metadata and answer (dwave-cloud-client api/models.py: ProblemInfo).</summary>
    private Task GetInfo(HttpContext ctx, string id)
    {
        if (Find(ctx, id) is not { } p) return Error(ctx, 404, $"Problem '{id}' not found");
        JsonObject o;
        lock (p)
        {
            var meta = new JsonObject
            {
                ["solver"] = _solvers[p.Solver].Solver.IdentityJson(),
                ["type"] = p.Type,
                ["label"] = p.Label,
                ["status"] = p.Status,
                ["submitted_by"] = SubmitterOf(p.Token),
                ["submitted_on"] = Timestamp(p.SubmittedOn),
                ["messages"] = MessagesOf(p),
            };
            if (p.SolvedOn is { } s) meta["solved_on"] = Timestamp(s);
            o = new JsonObject { ["id"] = p.Id, ["data"] = p.Data.DeepClone(), ["params"] = p.Params.DeepClone(), ["metadata"] = meta };
            if (p.Answer is not null) o["answer"] = p.Answer.DeepClone();
        }
        return Json(ctx, 200, o, Media + "problem-data+json");
    }

    private Task GetMessages(HttpContext ctx, string id)
    {
        if (Find(ctx, id) is not { } p) return Error(ctx, 404, $"Problem '{id}' not found");
        JsonArray m;
        lock (p) m = MessagesOf(p);
        return Json(ctx, 200, m, Media + "problem-message+json");
    }

    // Messages the simulated system posts about a problem: why it failed or was cancelled.
    private static JsonArray MessagesOf(SimProblem p)
    {
        var list = new JsonArray();
        if (p.Error is not null || p.Status == "CANCELLED")
            list.Add(new JsonObject
            {
                ["timestamp"] = Timestamp(p.SolvedOn ?? p.SubmittedOn),
                ["severity"] = p.Status == "FAILED" ? "error" : "info",
                ["message"] = p.Error ?? "Problem was cancelled.",
            });
        return list;
    }

    // A stable, non-secret stand-in for the member who submitted (never the token itself).
    private string SubmitterOf(string token) => $"sim-member-{_o.Tokens.ToList().IndexOf(token) + 1}";

    private Task CancelOne(HttpContext ctx, string id)
    {
        if (Find(ctx, id) is not { } p) return Error(ctx, 404, $"Problem '{id}' not found");
        var (code, msg) = Cancel(p);
        return code == 409 ? Error(ctx, 409, msg)
            : Json(ctx, code, code == 202 ? new JsonObject { ["error_code"] = 202, ["error_msg"] = msg } : StatusJson(p, false), Media + "problem+json");
    }

    private async Task CancelMany(HttpContext ctx)
    {
        JsonArray? ids;
        try { ids = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false) as JsonArray; }
        catch (JsonException) { ids = null; }
        if (ids is null) { await Error(ctx, 400, "the body must be a JSON list of problem ids").ConfigureAwait(false); return; }
        if (ids.Count == 0) { await Error(ctx, 400, "the list of problem ids to cancel is empty").ConfigureAwait(false); return; }
        if (ids.Any(i => i is not JsonValue v || !v.TryGetValue(out string? _)))
        {
            await Error(ctx, 400, "every problem id to cancel must be a string").ConfigureAwait(false);
            return;
        }
        var result = new JsonArray();
        foreach (var i in ids)
        {
            string id = i!.GetValue<string>();
            if (Find(ctx, id) is not { } p) { result.Add(new JsonObject { ["error_code"] = 404, ["error_msg"] = $"Problem '{id}' not found" }); continue; }
            var (code, msg) = Cancel(p);
            result.Add(code == 200 ? StatusJson(p, false) : new JsonObject { ["error_code"] = code, ["error_msg"] = msg });
        }
        await Json(ctx, 200, result, Media + "problems+json").ConfigureAwait(false);
    }

    private static (int, string) Cancel(SimProblem p)
    {
        lock (p)
        {
            if (p.IsTerminal) return (409, "Problem has been finished.");
            if (p.Status == "PENDING")
            {
                p.Cts.Cancel();
                p.Finish("CANCELLED");
                return (200, "cancelled");
            }
            p.Cts.Cancel();
            return (202, "Attempting to cancel problem in progress.");
        }
    }

    private SimProblem? Find(HttpContext ctx, string id) => _problems.TryGetValue(id, out var p) && p.Token == Token(ctx) ? p : null;

    private JsonObject StatusJson(SimProblem p, bool withAnswer)
    {
        lock (p)
        {
            var o = new JsonObject
            {
                ["id"] = p.Id,
                ["type"] = p.Type,
                ["solver"] = _solvers[p.Solver].Solver.IdentityJson(),
                ["status"] = p.Status,
                ["submitted_on"] = Timestamp(p.SubmittedOn),
            };
            if (p.Label is not null) o["label"] = p.Label;
            if (p.SolvedOn is { } s) o["solved_on"] = Timestamp(s);
            if (p.Error is not null) o["error_message"] = p.Error;
            if (withAnswer && p.Answer is not null) o["answer"] = p.Answer.DeepClone();
            return o;
        }
    }

    private static Task Json(HttpContext ctx, int code, JsonNode body, string media) => Text(ctx, code, body.ToJsonString(), media);

    private static Task Text(HttpContext ctx, int code, string json, string media)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = media.StartsWith(Media, StringComparison.Ordinal) ? $"{media}; version={SapiClient.ApiVersion}"
            : media.StartsWith("application/vnd.dwave.metadata.", StringComparison.Ordinal) ? $"{media}; version=1.0.0" : media;
        return ctx.Response.WriteAsync(json, ctx.RequestAborted);
    }

    private static Task Error(HttpContext ctx, int code, string msg) =>
        Json(ctx, code, new JsonObject { ["error_code"] = code, ["error_msg"] = msg }, "application/json");

    // ------------------------------------------------------------ the QPU

    private void FailQueuedOn(string solver)
    {
        foreach (var p in _problems.Values.Where(p => p.Solver == solver && !p.IsTerminal))
        {
            lock (p)
            {
                if (p.IsTerminal) continue;
                p.Cts.Cancel();
                p.Finish("FAILED", error: "Solver is offline.");
            }
        }
    }

    private async Task RunAsync(SimProblem p)
    {
        bool entered = false;
        try
        {
            await _qpu.WaitAsync(p.Cts.Token).ConfigureAwait(false);
            entered = true;
            lock (p)
            {
                if (p.IsTerminal) return;
                p.Status = "IN_PROGRESS";
            }
            if (Faults.TakeProblemFailure() is { } failure)
            {
                lock (p) if (!p.IsTerminal) p.Finish("FAILED", error: failure);
                return;
            }
            var delay = Faults.AnswerDelay;
            if (delay > TimeSpan.Zero) await Task.Delay(delay, p.Cts.Token).ConfigureAwait(false);
            var answer = await _solvers[p.Solver].SampleAnswerAsync(p.Problem, p.Settings, p.Cts.Token).ConfigureAwait(false);
            lock (p)
            {
                if (p.IsTerminal) return;
                _usage.GetOrAdd(p.Token, _ => new UsageCell()).Add(answer.Timing["qpu_access_time"]);
                p.Answer = answer.Encode(includeOccurrences: !p.Settings.Raw);
                if (Faults.TakeAnswerLoss() is var (hideFor, drop))
                {
                    p.HiddenUntil = DateTimeOffset.UtcNow + hideFor;
                    p.HideByDropping = drop;
                }
                p.Finish("COMPLETED");
            }
        }
        catch (OperationCanceledException)
        {
            lock (p) if (!p.IsTerminal) p.Finish("CANCELLED");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A sampler fault becomes a FAILED problem with its message, as a QPU error would.
            _o.Log?.Invoke($"sapi-sim: problem {p.Id} failed: {e}");
            lock (p) if (!p.IsTerminal) p.Finish("FAILED", error: $"Simulator error: {e.Message}");
        }
        finally
        {
            if (entered) _qpu.Release();
        }
    }

    private sealed class SimProblem(string id, string token, string solver, string type, string? label, QpuProblem problem,
        SimulatedQpu.RunSettings settings, long seq, DateTimeOffset submittedOn, JsonObject data, JsonObject prm)
    {
        /// <summary>The submission's data and params as sent, for <c>problems/{id}/info</c>.</summary>
        public JsonObject Data { get; } = data;
        public JsonObject Params { get; } = prm;
        public string Id { get; } = id;
        public string Token { get; } = token;
        public string Solver { get; } = solver;
        public string Type { get; } = type;
        public string? Label { get; } = label;
        public QpuProblem Problem { get; } = problem;
        public SimulatedQpu.RunSettings Settings { get; } = settings;
        public long Seq { get; } = seq;
        public DateTimeOffset SubmittedOn { get; } = submittedOn;
        public DateTimeOffset? SolvedOn { get; private set; }
        public string Status { get; set; } = "PENDING";
        public string? Error { get; private set; }
        public JsonObject? Answer { get; set; }
        /// <summary>Requests about this problem fail until then (faults.lose-answers), by a dropped connection or a 503.</summary>
        public DateTimeOffset? HiddenUntil { get; set; }
        public bool HideByDropping { get; set; }
        public CancellationTokenSource Cts { get; } = new();
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool IsTerminal => Status is "COMPLETED" or "FAILED" or "CANCELLED";

        public void Finish(string status, string? error = null)
        {
            Status = status;
            Error = error;
            SolvedOn = DateTimeOffset.UtcNow;
            Done.TrySetResult();
        }
    }

    private sealed class UsageCell
    {
        private double _time;
        private int _count;
        public void Add(double t) { lock (this) { _time += t; _count++; } }
        public SimulatorUsage Snapshot() { lock (this) return new SimulatorUsage(_time, _count); }
    }
}
