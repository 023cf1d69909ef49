using System.Collections.Concurrent;
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
/// of SAPI v2 that <see cref="SapiClient"/> uses (wire facts: the shared fact sheet dwave-sapi-and-ocean.md §1–2):
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

    private void MapEndpoints(WebApplication app)
    {
        app.Use(async (ctx, next) =>
        {
            var path = ctx.Request.Path.Value ?? "";
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
                    if (ra is { } r) ctx.Response.Headers.RetryAfter = ((int)Math.Ceiling(r.TotalSeconds)).ToString();
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
                    ctx.Response.Headers.RetryAfter = Math.Max(0, (int)Math.Ceiling(after.TotalSeconds)).ToString();
                    await Error(ctx, 429, "API request rate exceeds the permissible limit (simulated)").ConfigureAwait(false);
                    return;
                }
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
            if (vi < 0) ctx.Response.Headers["X-Deprecation"] = "\"accept-version-missing\"";
            else if (!accept[(vi + 8)..].TrimStart('"').StartsWith('3'))
            {
                await Error(ctx, 415, $"unsupported API version in Accept: {accept}; this server speaks 3.x").ConfigureAwait(false);
                return;
            }
            await next(ctx).ConfigureAwait(false);
        });

        app.MapGet("/sapi/v2/solvers/remote", ListSolvers);
        app.MapGet("/sapi/v2/solvers/remote/{name}", GetSolver);
        app.MapPost("/sapi/v2/problems", Submit);
        app.MapGet("/sapi/v2/problems", Poll);
        app.MapGet("/sapi/v2/problems/{id}", GetProblem);
        app.MapGet("/sapi/v2/problems/{id}/answer", GetAnswer);
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
    }

    private static string Token(HttpContext ctx) => (string)ctx.Items["token"]!;

    private string RecordOf(string name)
    {
        return _solvers[name].RecordText(Faults.IsOffline(name) ? "OFFLINE" : "ONLINE", 0.0);
    }

    private Task ListSolvers(HttpContext ctx) =>
        Text(ctx, 200, "[" + string.Join(",", _solvers.Keys.Select(RecordOf)) + "]", Media + "solver-definition-list+json");

    private Task GetSolver(HttpContext ctx, string name) =>
        _solvers.ContainsKey(name)
            ? Text(ctx, 200, RecordOf(name), Media + "solver-definition+json")
            : Error(ctx, 404, $"Solver '{name}' not found");

    private async Task Submit(HttpContext ctx)
    {
        JsonArray jobs;
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
            jobs = JsonNode.Parse(text) as JsonArray ?? throw new JsonException("the body must be a JSON list of problems");
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            await Error(ctx, 400, $"malformed submission: {e.Message}").ConfigureAwait(false);
            return;
        }
        string token = Token(ctx);
        var results = new JsonArray();
        foreach (var job in jobs)
        {
            try { results.Add(Accept(job as JsonObject ?? throw new SubmitError(400, "each problem must be a JSON object"), token)); }
            catch (SubmitError e) { results.Add(new JsonObject { ["error_code"] = e.Code, ["error_msg"] = e.Message }); }
        }
        await Json(ctx, 200, results, Media + "problems+json").ConfigureAwait(false);
    }

    private sealed class SubmitError(int code, string message) : Exception(message)
    {
        public int Code { get; } = code;
    }

    private JsonObject Accept(JsonObject job, string token)
    {
        string name = job["solver"]?["name"]?.GetValue<string>() ?? job["solver"]?.GetValue<string>()
            ?? throw new SubmitError(400, "problem has no solver");
        if (!_solvers.TryGetValue(name, out var solver)) throw new SubmitError(404, $"Solver '{name}' not found");
        string type = job["type"]?.GetValue<string>() ?? throw new SubmitError(400, "problem has no type");
        if (type is not (QpuProblem.Ising or QpuProblem.Qubo)) throw new SubmitError(400, $"problem type '{type}' is not supported (ising, qubo)");
        var data = job["data"] as JsonObject ?? throw new SubmitError(400, "problem has no data");
        if (data["format"]?.GetValue<string>() != "qp") throw new SubmitError(400, "only data format 'qp' is supported by QPU solvers");
        QpuProblem problem;
        try
        {
            problem = new QpProblemData(data["lin"]?.GetValue<string>() ?? "", data["quad"]?.GetValue<string>() ?? "",
                data["offset"]?.GetValue<double>() ?? 0).Decode(solver.Solver, type);
        }
        catch (SapiException e) { throw new SubmitError(400, e.Message); }
        var prm = job["params"] as JsonObject ?? new JsonObject();
        SimulatedQpu.RunSettings settings;
        try { settings = solver.CheckParameters(problem, prm); }
        catch (SimulatedQpuRejection e) { throw new SubmitError(e.Code, e.Message); }
        if (_problems.Values.Count(p => p.Token == token && !p.IsTerminal) >= _o.MaxQueuedPerToken)
            throw new SubmitError(429, $"at most {_o.MaxQueuedPerToken} unfinished problems per member are allowed");

        long n = Interlocked.Increment(ref _counter);
        var id = $"sim-{n:D8}-{Guid.NewGuid():N}"[..30];
        var p = new SimProblem(id, token, name, type, job["label"]?.GetValue<string>(), problem, settings, n, DateTimeOffset.UtcNow);
        _problems[id] = p;
        if (Faults.IsOffline(name)) p.Finish("FAILED", error: "Solver is offline.");
        else _ = Task.Run(() => RunAsync(p));
        return StatusJson(p, withAnswer: false);
    }

    private async Task Poll(HttpContext ctx)
    {
        string token = Token(ctx);
        string ids = ctx.Request.Query["id"].ToString();
        int timeout = int.TryParse(ctx.Request.Query["timeout"], out int t) ? Math.Clamp(t, 1, 30) : 1;
        List<SimProblem> mine;
        if (ids.Length == 0)
        {
            mine = _problems.Values.Where(p => p.Token == token).OrderByDescending(p => p.Seq).Take(1000).ToList();
            await Json(ctx, 200, new JsonArray(mine.Select(p => (JsonNode)StatusJson(p, false)).ToArray()), Media + "problems+json").ConfigureAwait(false);
            return;
        }
        mine = ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(i => _problems.TryGetValue(i, out var p) && p.Token == token ? p : null).OfType<SimProblem>().ToList();
        if (mine.Count == 0)
        {
            await Error(ctx, 404, "none of the requested problems exist").ConfigureAwait(false);
            return;
        }
        // Long poll: answer as soon as one of them is terminal, or when the timeout passes.
        if (!mine.Any(p => p.IsTerminal))
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _disposing.Token);
            var stopping = ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            using var reg = stopping.Register(cts.Cancel);
            var delay = Task.Delay(TimeSpan.FromSeconds(timeout), cts.Token);
            await Task.WhenAny(mine.Select(p => p.Done.Task).Append(delay)).ConfigureAwait(false);
            if (ctx.RequestAborted.IsCancellationRequested) return;
        }
        await Json(ctx, 200, new JsonArray(mine.Select(p => (JsonNode)StatusJson(p, false)).ToArray()), Media + "problems+json").ConfigureAwait(false);
    }

    private Task GetProblem(HttpContext ctx, string id) =>
        Find(ctx, id) is { } p ? Json(ctx, 200, StatusJson(p, withAnswer: true), Media + "problem+json") : Error(ctx, 404, $"Problem '{id}' not found");

    private Task GetAnswer(HttpContext ctx, string id)
    {
        if (Find(ctx, id) is not { } p) return Error(ctx, 404, $"Problem '{id}' not found");
        if (p.Answer is null) return Error(ctx, 409, $"Problem '{id}' has no answer (status {p.Status})");
        return Json(ctx, 200, new JsonObject { ["answer"] = p.Answer.DeepClone() }, Media + "problem-answer+json");
    }

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
        var result = new JsonArray();
        foreach (var i in ids)
        {
            string id = i?.GetValue<string>() ?? "";
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
                ["submitted_on"] = p.SubmittedOn.ToString("O"),
            };
            if (p.Label is not null) o["label"] = p.Label;
            if (p.SolvedOn is { } s) o["solved_on"] = s.ToString("O");
            if (p.Error is not null) o["error_message"] = p.Error;
            if (withAnswer && p.Answer is not null) o["answer"] = p.Answer.DeepClone();
            return o;
        }
    }

    private static Task Json(HttpContext ctx, int code, JsonNode body, string media) => Text(ctx, code, body.ToJsonString(), media);

    private static Task Text(HttpContext ctx, int code, string json, string media)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = media.StartsWith(Media, StringComparison.Ordinal) ? $"{media}; version={SapiClient.ApiVersion}" : media;
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
        SimulatedQpu.RunSettings settings, long seq, DateTimeOffset submittedOn)
    {
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
