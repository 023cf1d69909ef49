using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using QaActors.DWave.Config;
using QaActors.Sampling;

namespace QaActors.DWave.Sapi;

/// <summary>
/// Bounded retry of idempotent requests: exponential backoff with "equal jitter" (half fixed, half random, so
/// that clients that failed together do not retry together), capped per delay and overall. A Retry-After
/// header is honoured exactly (dwave-cloud-client relies on urllib3 doing the same for 413/429/503).
/// </summary>
public sealed record SapiRetryPolicy
{
    public int MaxAttempts { get; init; } = 6;
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>All attempts of one call together never take longer than this.</summary>
    public TimeSpan MaxElapsed { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>A Retry-After longer than this is not waited for: the call fails with <see cref="SapiErrorKind.RateLimited"/>.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan Backoff(int failedAttempts, Random rng)
    {
        double full = Math.Min(MaxDelay.TotalMilliseconds, BaseDelay.TotalMilliseconds * Math.Pow(2, failedAttempts - 1));
        return TimeSpan.FromMilliseconds(full / 2 + rng.NextDouble() * full / 2);
    }
}

public sealed record SapiClientOptions
{
    /// <summary>SAPI base URL ending in '/', e.g. https://na-west-1.cloud.dwavesys.com/sapi/v2/.</summary>
    public required Uri Endpoint { get; init; }
    public required SecretToken Token { get; init; }
    /// <summary>Per HTTP attempt (dwave-cloud-client's request_timeout is 60 s); a long poll adds its own wait to this.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public SapiRetryPolicy Retry { get; init; } = new();
    /// <summary>Long-poll wait sent as <c>timeout</c> (SAPI accepts 1–30 s; dwave-cloud-client's poll_wait_time is 30).</summary>
    public int LongPollSeconds { get; init; } = 30;
    /// <summary>zlib-compress submissions (<c>Content-Encoding: deflate</c>), dwave-cloud-client's default.</summary>
    public bool CompressRequests { get; init; } = true;
    /// <summary>
    /// A 429 on a submit means the server refused it, so no problem was created and nothing is charged: retrying
    /// after Retry-After cannot double-charge. Set false to surface every 429 to the caller instead.
    /// </summary>
    public bool RetrySubmitOnRateLimit { get; init; } = true;
    /// <summary>Diagnostics sink; messages never contain the token.</summary>
    public Action<string>? Log { get; init; }
    public int? JitterSeed { get; init; }
    /// <summary>TCP connect timeout (Ocean's request_timeout connect part); default <see cref="RequestTimeout"/>.</summary>
    public TimeSpan? ConnectTimeout { get; init; }
    /// <summary>The longest one problem is waited for (Ocean's polling_timeout); it shortens a caller's longer deadline.</summary>
    public TimeSpan? PollingTimeout { get; init; }
    /// <summary>An HTTP(S) or SOCKS proxy for every request (Ocean's proxy); null uses no proxy.</summary>
    public Uri? Proxy { get; init; }
    /// <summary>Extra headers sent with every request (Ocean's headers).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
    /// <summary>Send <c>Connection: close</c> (Ocean's connection_close): no connection reuse.</summary>
    public bool ConnectionClose { get; init; }
    /// <summary>
    /// Largest success body read (bytes, after decompression). A P16 solver record is about 1.5 MB and a 10 000-read
    /// answer about 10 MB; a larger or endless body is cut off and reported, with memory bounded by this.
    /// </summary>
    public long MaxResponseBytes { get; init; } = 64L << 20;
    /// <summary>Largest error body read (bytes): error messages are short.</summary>
    public long MaxErrorBodyBytes { get; init; } = 64L << 10;
    /// <summary>
    /// Resolves the endpoint on first use (the Metadata API lookup of a region, <see cref="DWaveConfig.ResolveEndpointAsync"/>);
    /// until then, and when it is null, <see cref="Endpoint"/> is used.
    /// </summary>
    public Func<CancellationToken, Task<Uri>>? ResolveEndpoint { get; init; }
}

/// <summary>Status of one problem (<c>{id, type, solver, label, status, submitted_on, solved_on, error_message}</c>).</summary>
public sealed record ProblemStatus(string Id, string Status, string? Type, string? ErrorMessage, JsonObject? Answer, JsonObject Raw)
{
    public bool IsTerminal => Status is "COMPLETED" or "FAILED" or "CANCELLED";

    /// <summary>The five statuses SAPI reports (dwave-cloud-client api/constants.py: ProblemStatus).</summary>
    public static readonly IReadOnlyList<string> Known = ["PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED"];

    /// <summary>
    /// A status without <c>status</c>, or with one SAPI does not define, is a protocol error: treating it as
    /// "still running" would poll until the deadline for an answer that never comes.
    /// </summary>
    public static ProblemStatus Parse(JsonObject o)
    {
        string id = Str(o, "id") ?? throw new SapiException(SapiErrorKind.Protocol, "problem status without id");
        string status = Str(o, "status") ?? throw new SapiException(SapiErrorKind.Protocol, $"problem {id}: the status response has no 'status'", problemId: id);
        if (!Known.Contains(status))
            throw new SapiException(SapiErrorKind.Protocol, $"problem {id}: unknown status '{(status.Length > 40 ? status[..40] + "…" : status)}' (SAPI reports {string.Join(", ", Known)})", problemId: id);
        return new ProblemStatus(id, status, Str(o, "type"), Str(o, "error_message"), o["answer"] as JsonObject, o);
    }

    private static string? Str(JsonObject o, string k) => o[k] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        var other => throw new SapiException(SapiErrorKind.Protocol, $"problem status: '{k}' is {other.GetValueKind()}, not a string"),
    };
}

public enum CancelOutcome
{
    /// <summary>200: the problem was cancelled before it ran.</summary>
    Cancelled,
    /// <summary>202: the problem is running; SAPI attempts to cancel it.</summary>
    CancelRequested,
    /// <summary>409: the problem had already finished.</summary>
    AlreadyFinished,
}

/// <summary>The outcome of one QPU call: qubit-level samples plus what was sent and what it cost.</summary>
public sealed record QpuCallResult(SampleSet Samples, string ProblemId, QpAnswer Answer, AccessTimeEstimate? Estimate);

/// <summary>
/// A SAPI v2 client for QPU solvers (wire facts: docs/dwave.md, "The SAPI protocol as the client uses it", from the Ocean SDK
/// <c>docs/leap_sapi/sapi_rest.rst</c> and dwave-cloud-client <c>api/client.py</c>, <c>api/resources.py</c>,
/// <c>client/base.py</c>, <c>coders.py</c>). Every call takes a <see cref="CancellationToken"/>, every HTTP
/// attempt has a timeout and every retry loop an overall deadline, so nothing waits forever.
///
/// Retry rules: GETs (solvers, status, answer) are idempotent and retried on transient failures (5xx, connection
/// errors, timeouts) and on 429/503 after Retry-After. A submit (POST) is retried only when the server provably
/// did not accept it: the TCP connection was refused (no byte sent) or the server answered 429 (an explicit
/// refusal). Any other failure of a submit is reported as is: the problem may exist on the server, and a blind
/// retry could run (and charge) it twice. DELETE (cancel) is idempotent in effect and retried like a GET.
/// </summary>
public sealed class SapiClient : IDisposable
{
    public const string ApiVersion = "3.0.0";
    private const string MediaPrefix = "application/vnd.dwave.sapi.";
    public const string SolverListType = MediaPrefix + "solver-definition-list+json";
    public const string SolverType = MediaPrefix + "solver-definition+json";
    public const string ProblemsType = MediaPrefix + "problems+json";
    public const string ProblemType = MediaPrefix + "problem+json";
    public const string AnswerType = MediaPrefix + "problem-answer+json";

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Random _jitter;
    private readonly Lazy<Task<Uri>> _endpoint;
    private readonly HashSet<string> _deprecationsSeen = new(StringComparer.Ordinal);

    public SapiClientOptions Options { get; }

    public SapiClient(SapiClientOptions options, HttpMessageHandler? handler = null)
    {
        Options = options;
        if (!options.Endpoint.AbsoluteUri.EndsWith('/'))
            throw new ArgumentException($"SAPI endpoint '{options.Endpoint}' must end with '/'", nameof(options));
        if (options.LongPollSeconds is < 1 or > 30)
            throw new ArgumentOutOfRangeException(nameof(options), options.LongPollSeconds, "LongPollSeconds must be 1..30 (SAPI's accepted range)");
        foreach (var (k, v) in options.Headers)
            if (k.Length == 0 || k.Any(c => c <= ' ' || c > '~' || c == ':') || v.Any(c => c < ' ' && c != '\t' || c > '~'))
                throw new ArgumentException($"header '{k}' has a name or value that cannot be sent in HTTP", nameof(options));
        handler ??= new SocketsHttpHandler
        {
            ConnectTimeout = options.ConnectTimeout ?? options.RequestTimeout,
            AutomaticDecompression = DecompressionMethods.All,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = options.Proxy is not null,
            Proxy = options.Proxy is { } px ? ProxyFor(px) : null,
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("QaActors-SapiClient/1.0");
        foreach (var (k, v) in options.Headers) _http.DefaultRequestHeaders.TryAddWithoutValidation(k, v);
        if (options.ConnectionClose) _http.DefaultRequestHeaders.ConnectionClose = true;
        _ownsHttp = true;
        _jitter = options.JitterSeed is { } s ? new Random(s) : new Random();
        _endpoint = new Lazy<Task<Uri>>(() => options.ResolveEndpoint is { } r ? ResolveOnce(r) : Task.FromResult(options.Endpoint));
    }

    // A proxy URL may carry user:password; they become credentials and never appear in messages.
    private static WebProxy ProxyFor(Uri u)
    {
        var p = new WebProxy(new UriBuilder(u) { UserName = "", Password = "" }.Uri);
        if (u.UserInfo.Length > 0)
        {
            var parts = u.UserInfo.Split(':', 2);
            p.Credentials = new NetworkCredential(Uri.UnescapeDataString(parts[0]), parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "");
        }
        return p;
    }

    private static async Task<Uri> ResolveOnce(Func<CancellationToken, Task<Uri>> resolve)
    {
        var u = await resolve(CancellationToken.None).ConfigureAwait(false);
        return u.AbsoluteUri.EndsWith('/') ? u : new Uri(u.AbsoluteUri + "/");
    }

    /// <summary>The SAPI base URL in use (after a region's Metadata API lookup, when one is needed).</summary>
    public Task<Uri> EndpointAsync() => _endpoint.Value;

    /// <summary>
    /// A client for the configuration: endpoint (a region is looked up in the Metadata API on first use), token,
    /// proxy, headers, timeouts, polling and retry settings, each as Ocean defines it (see <see cref="DWaveConfig.Catalogue"/>).
    /// </summary>
    public static SapiClient FromConfig(DWaveConfig config, Func<SapiClientOptions, SapiClientOptions>? adjust = null)
    {
        var token = config.RequireToken();
        var defaults = new SapiClientOptions { Endpoint = new Uri(DWaveConfig.DefaultEndpoint), Token = token };
        var o = defaults with
        {
            Endpoint = config.NeedsMetadataLookup ? new Uri(DWaveConfig.DefaultEndpoint) : config.ResolvedEndpoint,
            RequestTimeout = config.ReadTimeout ?? defaults.RequestTimeout,
            ConnectTimeout = config.ConnectTimeout,
            PollingTimeout = config.PollingTimeout,
            Proxy = config.Proxy,
            Headers = config.Headers,
            ConnectionClose = config.ConnectionClose ?? false,
            CompressRequests = config.CompressQpuProblemData ?? defaults.CompressRequests,
            LongPollSeconds = config.PollWaitTime ?? defaults.LongPollSeconds,
            Retry = defaults.Retry with
            {
                MaxAttempts = config.HttpRetryTotal is { } t ? t + 1 : defaults.Retry.MaxAttempts,
                MaxDelay = config.HttpRetryBackoffMax ?? defaults.Retry.MaxDelay,
            },
        };
        if (config.NeedsMetadataLookup)
        {
            var handler = o.Proxy is null ? null : new SocketsHttpHandler { UseProxy = true, Proxy = ProxyFor(o.Proxy) };
            o = o with { ResolveEndpoint = ct => config.ResolveEndpointAsync(handler, o.Log, ct) };
        }
        return new SapiClient(adjust is null ? o : adjust(o));
    }

    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }

    // ---------------------------------------------------------------- solvers

    public async Task<IReadOnlyList<SolverInfo>> ListSolversAsync(CancellationToken ct = default)
    {
        var (_, text) = await SendCoreAsync(HttpMethod.Get, "solvers/remote/", SolverListType, null, idempotent: true, ct: ct).ConfigureAwait(false);
        var root = ParseDocument(text, "GET solvers/remote/");
        if (root.ValueKind != JsonValueKind.Array) throw new SapiException(SapiErrorKind.Protocol, "GET solvers/remote/: expected a JSON list");
        return root.EnumerateArray().Select(e => ParseSolver(e, "GET solvers/remote/")).ToArray();
    }

    public async Task<SolverInfo> GetSolverAsync(string name, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("a solver name is required (--solver or DWAVE_API_SOLVER)", nameof(name));
        var (_, text) = await SendCoreAsync(HttpMethod.Get, $"solvers/remote/{Uri.EscapeDataString(name)}/", SolverType, null, idempotent: true, ct: ct).ConfigureAwait(false);
        return ParseSolver(ParseDocument(text, $"GET solvers/remote/{name}/"), $"GET solvers/remote/{name}/");
    }

    // A record of the wrong shape (a string where a list belongs) is the server's fault: Protocol, with the request named.
    private static SolverInfo ParseSolver(JsonElement e, string what)
    {
        try { return SolverInfo.Parse(e); }
        catch (Exception x) when (x is InvalidOperationException or FormatException or KeyNotFoundException or IndexOutOfRangeException or JsonException)
        {
            throw new SapiException(SapiErrorKind.Protocol, $"{what}: malformed solver record ({x.Message})", inner: x);
        }
    }

    /// <summary>
    /// The solver the <c>solver</c> setting selects (Ocean's <c>Client.get_solver</c>): a name is fetched directly;
    /// a feature filter (<see cref="SolverSelector"/>) is applied to the solver list and the best match taken; no
    /// setting means any online QPU solver, the largest first.
    /// </summary>
    public async Task<SolverInfo> SelectSolverAsync(SolverSelector? selector, CancellationToken ct = default)
    {
        selector ??= SolverSelector.AnyQpu;
        if (selector.Name is { } name)
        {
            var s = await GetSolverAsync(name, ct).ConfigureAwait(false);
            if (!selector.Matches(s))
                throw new SapiException(SapiErrorKind.NotFound, $"solver {name} has graph_id {s.GraphId}, not {selector.GraphId} as the solver setting requires");
            return s;
        }
        var all = await ListSolversAsync(ct).ConfigureAwait(false);
        var hits = selector.Select(all);
        if (hits.Count > 0) return hits[0];
        string listed = all.Count == 0 ? "none" : string.Join("; ", all.Select(x => $"{x.Name} ({x.Category}, {x.Status ?? "status unknown"}, {x.Qubits.Length} qubits, {x.TopologyType})"));
        throw new SapiException(SapiErrorKind.NotFound, $"no solver matches the solver setting {selector.Text}; the endpoint lists: {listed}");
    }

    // ---------------------------------------------------------------- problems

    /// <summary>Validates, then submits one problem in <c>qp</c> format. Returns its first status.</summary>
    public async Task<ProblemStatus> SubmitAsync(SolverInfo solver, QpuProblem problem, QpuParameters parameters, string? label = null, CancellationToken ct = default)
    {
        if (!solver.IsOnline)
            throw new SapiException(SapiErrorKind.SolverOffline, $"solver {solver.Name} is OFFLINE; choose another solver or try later");
        QpuProblemValidator.Validate(solver, problem, parameters);
        var job = new JsonObject
        {
            ["solver"] = solver.IdentityJson(),
            ["type"] = problem.Type,
            ["data"] = QpProblemData.Encode(solver, problem).ToJson(),
            ["params"] = parameters.ToJson(),
        };
        if (label is not null) job["label"] = label;
        var body = await SendAsync(HttpMethod.Post, "problems/", ProblemsType, new JsonArray(job), idempotent: false, ct: ct).ConfigureAwait(false);
        var first = (body as JsonArray)?.FirstOrDefault() as JsonObject
            ?? throw new SapiException(SapiErrorKind.Protocol, "POST problems/: expected a list with one status");
        if (first["error_code"] is JsonValue code)
        {
            int c = JsonNumbers.Int(code);
            string msg = first["error_msg"] is JsonValue mv && mv.TryGetValue(out string? m) ? m : "(no message)";
            throw new SapiException(KindFor(c), $"POST problems/: the problem was rejected ({c}): {msg}", c, c);
        }
        var status = ProblemStatus.Parse(first);
        ThrowIfFailed(status);
        return status;
    }

    public async Task<ProblemStatus> GetStatusAsync(string problemId, CancellationToken ct = default)
    {
        var body = await SendAsync(HttpMethod.Get, $"problems/{Uri.EscapeDataString(problemId)}/", ProblemType, null, idempotent: true, ct: ct).ConfigureAwait(false);
        return ProblemStatus.Parse(body as JsonObject ?? throw new SapiException(SapiErrorKind.Protocol, "problem status is not an object"));
    }

    /// <summary>
    /// The caller's problems whose label is exactly <paramref name="label"/>, newest first: <c>GET problems/?label=…</c>
    /// (SAPI REST "List problems"; the server's label filter may match more loosely, so the exact match is checked
    /// here). SAPI keeps problems for a limited time, so an old label may list nothing.
    /// </summary>
    public async Task<IReadOnlyList<ProblemStatus>> ListProblemsAsync(string label, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        var body = await SendAsync(HttpMethod.Get, $"problems/?label={Uri.EscapeDataString(label)}&max_results=1000", ProblemsType, null, idempotent: true, ct: ct).ConfigureAwait(false);
        var arr = body as JsonArray ?? throw new SapiException(SapiErrorKind.Protocol, "GET problems/?label=: expected a list");
        return arr.Select(x => x as JsonObject ?? throw new SapiException(SapiErrorKind.Protocol, "status is not an object"))
            .Where(o => o["label"] is JsonValue v && v.TryGetValue(out string? l) && l == label)
            .Select(ProblemStatus.Parse).ToArray();
    }

    /// <summary>One long poll: <c>GET problems/?id=…&amp;timeout=N</c>; the server answers when one completes or N s pass.</summary>
    public async Task<IReadOnlyList<ProblemStatus>> PollAsync(IReadOnlyCollection<string> ids, int timeoutSeconds, CancellationToken ct = default)
    {
        if (ids.Count is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(ids), ids.Count, "poll 1..100 problems at a time");
        timeoutSeconds = Math.Clamp(timeoutSeconds, 1, 30);
        string path = $"problems/?id={string.Join(",", ids.Select(Uri.EscapeDataString))}&timeout={timeoutSeconds}";
        var body = await SendAsync(HttpMethod.Get, path, ProblemsType, null, idempotent: true,
            extraTimeout: TimeSpan.FromSeconds(timeoutSeconds), ct: ct).ConfigureAwait(false);
        var arr = body as JsonArray ?? throw new SapiException(SapiErrorKind.Protocol, "GET problems/: expected a list");
        return arr.Select(x => ProblemStatus.Parse(x as JsonObject ?? throw new SapiException(SapiErrorKind.Protocol, "status is not an object"))).ToArray();
    }

    /// <summary>
    /// Long-polls until the problem is terminal or <paramref name="deadline"/> passes. Transient failures and
    /// 429s during the wait do not end it (dwave-cloud-client re-queues problems after a 5xx on a poll); they are
    /// waited out with backoff until the deadline, after which the last failure is reported with the problem id.
    /// When a poll returns early without completion the next one is delayed 0.05 s ×1.3 per poll, capped
    /// (dwave-cloud-client's poll backoff).
    /// </summary>
    public async Task<ProblemStatus> WaitAsync(string problemId, TimeSpan deadline, CancellationToken ct = default)
    {
        if (Options.PollingTimeout is { } pt && pt < deadline) deadline = pt;
        var sw = Stopwatch.StartNew();
        double pause = 0.05;
        int failures = 0;
        SapiException? last = null;
        while (true)
        {
            var remaining = deadline - sw.Elapsed;
            if (remaining <= TimeSpan.Zero)
                throw new SapiException(SapiErrorKind.Transient,
                    $"problem {problemId} did not finish within {deadline.TotalSeconds:F1} s" + (last is null ? "" : $" (last error: {last.Message})"),
                    problemId: problemId, inner: last);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(remaining);
            int wait = (int)Math.Clamp(Math.Floor(remaining.TotalSeconds), 1, Options.LongPollSeconds);
            var started = sw.Elapsed;
            try
            {
                var statuses = await PollAsync([problemId], wait, cts.Token).ConfigureAwait(false);
                var st = statuses.FirstOrDefault(s => s.Id == problemId)
                    ?? throw new SapiException(SapiErrorKind.NotFound, $"problem {problemId} is not in the poll response", problemId: problemId);
                if (st.IsTerminal)
                {
                    ThrowIfFailed(st);
                    return st;
                }
                failures = 0;
                if (sw.Elapsed - started < TimeSpan.FromSeconds(wait) - TimeSpan.FromMilliseconds(200))
                {
                    await DelayWithin(TimeSpan.FromSeconds(pause), deadline - sw.Elapsed, ct).ConfigureAwait(false);
                    pause = Math.Min(pause * 1.3, 60);
                }
            }
            catch (SapiException e) when (e.IsRetryable)
            {
                last = e;
                failures++;
                var d = e.RetryAfter ?? Options.Retry.Backoff(failures, _jitter);
                Options.Log?.Invoke($"poll of {problemId} failed ({e.Kind}: {e.Message}); waiting {d.TotalMilliseconds:F0} ms");
                await DelayWithin(d, deadline - sw.Elapsed, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && cts.IsCancellationRequested
                                      && e is OperationCanceledException or SapiException { Kind: SapiErrorKind.Cancelled })
            {
                // Our own deadline fired inside the poll, not the caller: loop once more to report it as a timeout.
            }
        }
    }

    public async Task<QpAnswer> GetAnswerAsync(string problemId, string problemType, CancellationToken ct = default)
    {
        var body = await SendAsync(HttpMethod.Get, $"problems/{Uri.EscapeDataString(problemId)}/answer/", AnswerType, null, idempotent: true, ct: ct).ConfigureAwait(false);
        var ans = body?["answer"] as JsonObject ?? throw new SapiException(SapiErrorKind.Protocol, $"GET problems/{problemId}/answer/: no 'answer' object", problemId: problemId);
        return QpAnswer.Decode(ans, problemType);
    }

    public async Task<CancelOutcome> CancelAsync(string problemId, CancellationToken ct = default)
    {
        try
        {
            var (code, _) = await SendCoreAsync(HttpMethod.Delete, $"problems/{Uri.EscapeDataString(problemId)}/", ProblemType, null, idempotent: true, ct: ct).ConfigureAwait(false);
            return code == 202 ? CancelOutcome.CancelRequested : CancelOutcome.Cancelled;
        }
        catch (SapiException e) when (e.StatusCode == 409)
        {
            return CancelOutcome.AlreadyFinished;
        }
    }

    /// <summary>
    /// The whole round trip: check the estimate against <paramref name="maxAccessTimeMicroseconds"/> (if given),
    /// submit, wait (up to <paramref name="deadline"/>), fetch and decode the answer. If the wait fails or the
    /// caller cancels, a best-effort cancel is sent so that an abandoned problem is not run and charged for nothing.
    /// </summary>
    public async Task<QpuCallResult> SampleAsync(SolverInfo solver, QpuProblem problem, QpuParameters parameters, TimeSpan deadline,
        double? maxAccessTimeMicroseconds = null, string? label = null, CancellationToken ct = default)
    {
        AccessTimeEstimate? est = solver.TimingData is null ? null
            : AccessTimeEstimator.Estimate(solver, Math.Max(1, problem.ActiveQubits().Length), parameters.Timing);
        if (maxAccessTimeMicroseconds is { } cap)
        {
            if (est is null) throw new SapiException(SapiErrorKind.BadProblem, $"a quota cap was given but {solver.Name} publishes no problem_timing_data to estimate against");
            if (est.QpuAccessTime > cap)
                throw new SapiException(SapiErrorKind.BadProblem, $"estimated QPU access time {est.QpuAccessTime:F0} µs exceeds the remaining quota {cap:F0} µs; nothing was submitted");
        }
        var sw = Stopwatch.StartNew();
        var submitted = await SubmitAsync(solver, problem, parameters, label, ct).ConfigureAwait(false);
        string id = submitted.Id;
        try
        {
            var status = submitted.IsTerminal ? submitted : await WaitAsync(id, deadline - sw.Elapsed, ct).ConfigureAwait(false);
            var answer = status.Answer is JsonObject a && a["answer"] is JsonObject inner ? QpAnswer.Decode(inner, problem.Type)
                : status.Answer is JsonObject a2 && a2["format"] is not null ? QpAnswer.Decode(a2, problem.Type)
                : await GetAnswerAsync(id, problem.Type, ct).ConfigureAwait(false);
            // SAPI's answer.offset, when sent, is the offset of the problem it solved; otherwise ours is added
            // (dwave-cloud-client computation.py: _patch_offset, coders.py).
            var samples = answer.ToSampleSet(problem.Offset, id, solver.Name);
            if (est is not null) samples = samples.WithInfo(samples.Info.WithProperty("estimated_qpu_access_time", est.QpuAccessTime));
            return new QpuCallResult(samples, id, answer, est);
        }
        catch (Exception e) when (e is SapiException { Kind: SapiErrorKind.Transient or SapiErrorKind.Cancelled or SapiErrorKind.RateLimited } or OperationCanceledException)
        {
            await BestEffortCancel(id).ConfigureAwait(false);
            if (e is SapiException s && !s.InDoubt && !IsEnded(s)) throw InDoubtOf(s, id);
            throw;
        }
        catch (SapiException e) when (!e.InDoubt && !IsEnded(e))
        {
            // Accepted, then something else failed (a malformed answer, a 404 of the answer): it may have run.
            throw InDoubtOf(e, id);
        }
    }

    /// <summary>
    /// How problem <paramref name="problemId"/> ended, for a caller whose call lost track of it (<see cref="SapiException.InDoubt"/>):
    /// the qpu_access_time (µs) of its answer when COMPLETED, 0 when it FAILED or was CANCELLED (no answer: nothing
    /// delivered), null while it is unfinished. Failures to reach the server are thrown as usual.
    /// </summary>
    public async Task<double?> AccessTimeOfAsync(string problemId, CancellationToken ct = default)
    {
        var st = await GetStatusAsync(problemId, ct).ConfigureAwait(false);
        if (!st.IsTerminal) return null;
        if (st.Status != "COMPLETED") return 0;
        var answer = st.Answer is JsonObject a && a["answer"] is JsonObject inner ? inner
            : st.Answer is JsonObject a2 && a2["format"] is not null ? a2
            : (await SendAsync(HttpMethod.Get, $"problems/{Uri.EscapeDataString(problemId)}/answer/", AnswerType, null, idempotent: true, ct: ct).ConfigureAwait(false))?["answer"] as JsonObject;
        return answer?["timing"]?["qpu_access_time"] is JsonValue v && v.TryGetValue(out double t) ? t
            : throw new SapiException(SapiErrorKind.Protocol, $"problem {problemId}: the answer has no timing.qpu_access_time", problemId: problemId);
    }

    /// <summary>A failure that reports how the problem ended (a FAILED or CANCELLED status): nothing in doubt.</summary>
    private static bool IsEnded(SapiException e) => e.ProblemEnded;

    private static SapiException InDoubtOf(SapiException e, string id) =>
        new(e.Kind, $"{e.Message} (problem {id} was accepted; whether it ran is not known)", e.StatusCode, e.ErrorCode, e.RetryAfter, id, e.NotSent, e, inDoubt: true);

    /// <summary>The seam the QPU sampler composes: an Ising problem over qubits, answered as a qubit-level sample set.</summary>
    public Task<QpuCallResult> SampleIsingAsync(SolverInfo solver, IReadOnlyDictionary<int, double> h, IReadOnlyDictionary<(int U, int V), double> j,
        QpuParameters parameters, TimeSpan deadline, CancellationToken ct = default) =>
        SampleAsync(solver, new QpuProblem(QpuProblem.Ising, h, j), parameters, deadline, ct: ct);

    private async Task BestEffortCancel(string id)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var outcome = await CancelAsync(id, cts.Token).ConfigureAwait(false);
            Options.Log?.Invoke($"cancel of abandoned problem {id}: {outcome}");
        }
        catch (Exception e) when (e is SapiException or OperationCanceledException)
        {
            // The original failure is what the caller must see; a failed cancel is only logged.
            Options.Log?.Invoke($"cancel of abandoned problem {id} failed: {e.Message}");
        }
    }

    private static void ThrowIfFailed(ProblemStatus st)
    {
        if (st.Status == "FAILED")
        {
            string msg = st.ErrorMessage ?? "(no error message)";
            // dwave-cloud-client: "solver is offline" in the message means SolverOfflineError.
            var kind = msg.Contains("solver is offline", StringComparison.OrdinalIgnoreCase) ? SapiErrorKind.SolverOffline : SapiErrorKind.ProblemFailed;
            throw new SapiException(kind, $"problem {st.Id} FAILED: {msg}", problemId: st.Id, problemEnded: true);
        }
        if (st.Status == "CANCELLED")
            throw new SapiException(SapiErrorKind.Cancelled, $"problem {st.Id} was CANCELLED", problemId: st.Id, problemEnded: true);
    }

    // ---------------------------------------------------------------- HTTP

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, string accept, JsonNode? content, bool idempotent,
        TimeSpan? extraTimeout = null, CancellationToken ct = default)
    {
        var (code, text) = await SendCoreAsync(method, path, accept, content, idempotent, extraTimeout, ct).ConfigureAwait(false);
        try
        {
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (JsonException je)
        {
            throw new SapiException(SapiErrorKind.Protocol, $"{method} {path.Split('?')[0]}: response is not valid JSON ({je.Message})", code, inner: je);
        }
    }

    private static JsonElement ParseDocument(string text, string what)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException je)
        {
            throw new SapiException(SapiErrorKind.Protocol, $"{what}: response is not valid JSON ({je.Message})", inner: je);
        }
    }

    private async Task<(int Status, string Body)> SendCoreAsync(HttpMethod method, string path, string accept, JsonNode? content, bool idempotent,
        TimeSpan? extraTimeout = null, CancellationToken ct = default)
    {
        var policy = Options.Retry;
        var sw = Stopwatch.StartNew();
        byte[]? payload = content is null ? null : Encoding.UTF8.GetBytes(content.ToJsonString());
        string what = $"{method} {path.Split('?')[0]}";
        for (int attempt = 1; ; attempt++)
        {
            SapiException error;
            try
            {
                return await AttemptAsync(method, path, accept, payload, extraTimeout, what, ct).ConfigureAwait(false);
            }
            catch (SapiException e)
            {
                error = e;
            }
            bool mayRetry = error.IsRetryable
                && (idempotent || error.NotSent || (error.Kind == SapiErrorKind.RateLimited && Options.RetrySubmitOnRateLimit));
            if (!mayRetry) throw Annotate(error, method, idempotent);
            if (attempt >= policy.MaxAttempts)
                throw Wrap(error, $"{error.Message} (gave up after {attempt} attempts)");
            TimeSpan delay;
            if (error.RetryAfter is { } ra)
            {
                if (ra > policy.MaxRetryAfter)
                    throw Wrap(error, $"{error.Message} (Retry-After {ra.TotalSeconds:F0} s exceeds the {policy.MaxRetryAfter.TotalSeconds:F0} s this client waits)");
                delay = ra;
            }
            else delay = policy.Backoff(attempt, _jitter);
            if (sw.Elapsed + delay > policy.MaxElapsed)
                throw Wrap(error, $"{error.Message} (retry deadline of {policy.MaxElapsed.TotalSeconds:F0} s reached after {attempt} attempts)");
            Options.Log?.Invoke($"{what} attempt {attempt} failed ({error.Kind}: {error.Message}); retrying in {delay.TotalMilliseconds:F0} ms");
            try { await Task.Delay(delay, ct).ConfigureAwait(false); }
            catch (OperationCanceledException oce) { throw new SapiException(SapiErrorKind.Cancelled, $"{what}: cancelled by the caller", inner: oce); }
        }
    }

    private static SapiException Wrap(SapiException e, string message) =>
        new(e.Kind, message, e.StatusCode, e.ErrorCode, e.RetryAfter, e.ProblemId, e.NotSent, e, e.InDoubt, e.ProblemEnded);

    private static SapiException Annotate(SapiException e, HttpMethod method, bool idempotent) =>
        !idempotent && method == HttpMethod.Post && e.IsRetryable && !e.NotSent
            ? Wrap(e, $"{e.Message}. The submit was not retried: the server may have accepted the problem (check its problem list before resubmitting)")
            : e;

    private async Task<(int, string)> AttemptAsync(HttpMethod method, string path, string accept, byte[]? payload, TimeSpan? extraTimeout, string what, CancellationToken ct)
    {
        Uri baseUri;
        try { baseUri = await _endpoint.Value.WaitAsync(ct).ConfigureAwait(false); }
        catch (OperationCanceledException oce) when (ct.IsCancellationRequested)
        {
            throw new SapiException(SapiErrorKind.Cancelled, $"{what}: cancelled by the caller", inner: oce);
        }
        using var req = new HttpRequestMessage(method, new Uri(baseUri, path));
        req.Headers.TryAddWithoutValidation("Accept", $"{accept}; version={ApiVersion}");
        req.Headers.TryAddWithoutValidation("X-Auth-Token", Options.Token.Reveal());
        if (payload is not null)
        {
            HttpContent c;
            if (Options.CompressRequests)
            {
                using var ms = new MemoryStream();
                using (var z = new ZLibStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(payload);
                c = new ByteArrayContent(ms.ToArray());
                c.Headers.ContentEncoding.Add("deflate");
            }
            else c = new ByteArrayContent(payload);
            c.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            req.Content = c;
        }

        using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var timeout = Options.RequestTimeout + (extraTimeout ?? TimeSpan.Zero);
        attemptCts.CancelAfter(timeout);
        HttpResponseMessage resp;
        string text;
        try
        {
            resp = await _http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, attemptCts.Token).ConfigureAwait(false);
            bool ok = resp.IsSuccessStatusCode;
            try
            {
                text = await BoundedBody.ReadStringAsync(resp.Content, ok ? Options.MaxResponseBytes : Options.MaxErrorBodyBytes, what, attemptCts.Token).ConfigureAwait(false);
            }
            catch (BoundedBody.TooLargeException tl) when (ok)
            {
                resp.Dispose();
                throw new SapiException(SapiErrorKind.Protocol, $"{tl.Message} (SapiClientOptions.MaxResponseBytes)", 200, inner: tl);
            }
            catch (BoundedBody.TooLargeException)
            {
                text = "(error body too large to show)";
            }
            catch
            {
                resp.Dispose();
                throw;
            }
            NoteDeprecation(resp, what);
        }
        catch (IOException ioe) when (!ct.IsCancellationRequested)
        {
            throw new SapiException(SapiErrorKind.Transient, $"{what}: the connection failed while reading the response ({ioe.Message})", inner: ioe);
        }
        catch (OperationCanceledException oce) when (ct.IsCancellationRequested)
        {
            throw new SapiException(SapiErrorKind.Cancelled, $"{what}: cancelled by the caller", inner: oce);
        }
        catch (OperationCanceledException oce)
        {
            throw new SapiException(SapiErrorKind.Transient, $"{what}: no response within {timeout.TotalSeconds:F1} s", inner: oce);
        }
        catch (HttpRequestException hre)
        {
            bool refused = hre.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused };
            string reason = refused ? "connection refused" : hre.HttpRequestError.ToString();
            throw new SapiException(SapiErrorKind.Transient, $"{what}: {reason} ({baseUri.Authority})", notSent: refused, inner: hre);
        }
        using (resp)
        {
            int code = (int)resp.StatusCode;
            if (code is >= 200 and < 300)
            {
                CheckMediaType(resp, accept, what, text.Length);
                return (code, text);
            }
            throw ErrorFor(resp, code, text, what);
        }
    }

    /// <summary>dwave-cloud-client VersionedAPISessionMixin: same media type, version ~=3.0 (3.x with x ≥ 0).</summary>
    private static void CheckMediaType(HttpResponseMessage resp, string expected, string what, int bodyLength)
    {
        var ctype = resp.Content.Headers.ContentType;
        if (ctype is null)
        {
            // Only an empty body may come untyped; anything else is not something this client may read.
            if (bodyLength == 0) return;
            throw new SapiException(SapiErrorKind.Protocol, $"{what}: the response has a body but no Content-Type, expected {expected}", (int)resp.StatusCode);
        }
        if (!string.Equals(ctype.MediaType, expected, StringComparison.OrdinalIgnoreCase))
            throw new SapiException(SapiErrorKind.Protocol, $"{what}: server sent Content-Type {ctype.MediaType}, expected {expected}", (int)resp.StatusCode);
        string? version = ctype.Parameters.FirstOrDefault(p => p.Name.Equals("version", StringComparison.OrdinalIgnoreCase))?.Value?.Trim('"');
        if (version is null || !Version.TryParse(version, out var v) || v.Major != 3)
            throw new SapiException(SapiErrorKind.Protocol, $"{what}: server API version '{version ?? "(none)"}' is not compatible with ~=3.0", (int)resp.StatusCode);
    }

    // 415 means the two ends disagree on the API version, not that the problem is wrong.
    private static SapiErrorKind KindFor(int code) => code switch
    {
        401 or 403 => SapiErrorKind.Authentication,
        404 or 410 => SapiErrorKind.NotFound,
        415 => SapiErrorKind.Protocol,
        429 => SapiErrorKind.RateLimited,
        >= 500 => SapiErrorKind.Transient,
        _ => SapiErrorKind.BadProblem,
    };

    /// <summary>Logs each distinct X-Deprecation notice once (an RFC 9651 list; Leap's deprecation messages).</summary>
    private void NoteDeprecation(HttpResponseMessage resp, string what)
    {
        if (Options.Log is null || !resp.Headers.TryGetValues("X-Deprecation", out var values)) return;
        foreach (var v in values)
        {
            string shown = v.Length > 300 ? v[..300] + "…" : v;
            bool first;
            lock (_deprecationsSeen) first = _deprecationsSeen.Add(v);
            if (first) Options.Log($"{what}: the server reports a deprecation: {shown}");
        }
    }

    private static SapiException ErrorFor(HttpResponseMessage resp, int code, string text, string what)
    {
        int? errorCode = null;
        string msg = text;
        try
        {
            if (text.Length > 0 && text.TrimStart().StartsWith('{') && JsonNode.Parse(text) is JsonObject o)
            {
                errorCode = o["error_code"] is JsonValue ec && ec.TryGetValue(out int e) ? e : null;
                msg = o["error_msg"]?.GetValue<string>() ?? text;
            }
        }
        catch (JsonException)
        {
            // Plain-text error bodies are allowed (Ocean SDK sapi_rest.rst); keep the raw text.
        }
        if (msg.Length > 500) msg = msg[..500] + "…";
        TimeSpan? retryAfter = null;
        if (resp.Headers.RetryAfter is { } ra)
            retryAfter = ra.Delta ?? (ra.Date is { } d ? (d - DateTimeOffset.UtcNow) is var dt && dt > TimeSpan.Zero ? dt : TimeSpan.Zero : null);
        var kind = KindFor(code);
        string hint = kind switch
        {
            SapiErrorKind.Authentication => " (check the token: DWAVE_API_TOKEN or the token of the dwave.conf profile)",
            SapiErrorKind.RateLimited => retryAfter is { } r ? $" (Retry-After {r.TotalSeconds:F0} s)" : "",
            _ => "",
        };
        return new SapiException(kind, $"{what}: HTTP {code}: {(msg.Length == 0 ? resp.ReasonPhrase : msg)}{hint}", code, errorCode, retryAfter);
    }

    private static async Task DelayWithin(TimeSpan delay, TimeSpan remaining, CancellationToken ct)
    {
        var d = delay < remaining ? delay : remaining;
        if (d <= TimeSpan.Zero) return;
        try { await Task.Delay(d, ct).ConfigureAwait(false); }
        catch (OperationCanceledException oce) { throw new SapiException(SapiErrorKind.Cancelled, "wait cancelled by the caller", inner: oce); }
    }
}
