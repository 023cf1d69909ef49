using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;

namespace QaActors.DWave.Tests;

/// <summary>
/// The simulator's SAPI surface where dwave-cloud-client 0.14 uses more than our own client does (issue 8):
/// blocking submit, info/messages, list filters, solver filters and caching headers, waits, error bodies, formats.
/// Raw HTTP, so that each wire detail is what is checked.
/// </summary>
public sealed class SimulatorConformanceTests : IAsyncLifetime
{
    private SimulatorHarness _hx = null!;
    private HttpClient _http = null!;
    private SolverInfo _solver = null!;

    public async Task InitializeAsync()
    {
        _hx = await SimulatorHarness.StartAsync();
        _http = new HttpClient { BaseAddress = _hx.Sim.SapiEndpoint, Timeout = TimeSpan.FromSeconds(40) };
        using var c = _hx.Client();
        _solver = await c.GetSolverAsync(SimulatorHarness.Solver);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _hx.DisposeAsync();
    }

    private static readonly Regex SapiTime = new(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$");

    private HttpRequestMessage Req(HttpMethod m, string path, string accept, string? body = null)
    {
        var r = new HttpRequestMessage(m, path);
        r.Headers.Add("X-Auth-Token", SimulatorHarness.Token);
        if (accept.Length > 0) r.Headers.TryAddWithoutValidation("Accept", accept);
        if (body is not null) r.Content = new StringContent(body, Encoding.UTF8, "application/json");
        return r;
    }

    private async Task<(HttpStatusCode Code, JsonNode? Body, HttpResponseMessage Resp)> Send(HttpMethod m, string path, string? body = null,
        string media = SapiClient.ProblemsType, Action<HttpRequestMessage>? adjust = null)
    {
        var r = Req(m, path, $"{media}; version=3.0.0", body);
        adjust?.Invoke(r);
        var resp = await _http.SendAsync(r);
        string text = await resp.Content.ReadAsStringAsync();
        return (resp.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), resp);
    }

    private JsonObject Job(double h = 0.5, string? label = null, JsonObject? prm = null)
    {
        var p = new QpuProblem("ising", new Dictionary<int, double> { [30] = h }, new Dictionary<(int, int), double> { [(30, 31)] = -1 });
        var job = new JsonObject
        {
            ["solver"] = _solver.IdentityJson(),
            ["type"] = "ising",
            ["data"] = QpProblemData.Encode(_solver, p).ToJson(),
            ["params"] = prm ?? new JsonObject { ["num_reads"] = 10 },
        };
        if (label is not null) job["label"] = label;
        return job;
    }

    private static void AssertError(JsonNode? body, int code, string contains)
    {
        Assert.NotNull(body);
        Assert.Equal(code, body!["error_code"]!.GetValue<int>());
        Assert.Contains(contains, body["error_msg"]!.GetValue<string>());
    }

    [Fact]
    public async Task BlockingSubmit_OneObject_AnswersOneStatus_WithTheAnswer_AndSapiTimestamps()
    {
        var (code, body, resp) = await Send(HttpMethod.Post, "problems/", Job(label: "blocking-1").ToJsonString());
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(SapiClient.ProblemsType, resp.Content.Headers.ContentType!.MediaType);
        var st = Assert.IsType<JsonObject>(body);
        Assert.Equal("COMPLETED", st["status"]!.GetValue<string>());
        Assert.Equal("blocking-1", st["label"]!.GetValue<string>());
        Assert.Equal("qp", st["answer"]!["format"]!.GetValue<string>());
        Assert.Matches(SapiTime, st["submitted_on"]!.GetValue<string>());
        Assert.Matches(SapiTime, st["solved_on"]!.GetValue<string>());
        // A rejected single submit is an HTTP error with SAPI's body.
        var bad = Job();
        bad["type"] = "bqm";
        var (c2, b2, _) = await Send(HttpMethod.Post, "problems/", bad.ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, c2);
        AssertError(b2, 400, "bqm");
    }

    [Fact]
    public async Task InfoAndMessages_ReturnTheSubmissionAndItsMetadata()
    {
        var job = Job(label: "info-me", prm: new JsonObject { ["num_reads"] = 7, ["answer_mode"] = "raw" });
        var (_, body, _) = await Send(HttpMethod.Post, "problems/", job.ToJsonString());
        string id = body!["id"]!.GetValue<string>();
        var (code, info, resp) = await Send(HttpMethod.Get, $"problems/{id}/info", media: "application/vnd.dwave.sapi.problem-data+json");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("application/vnd.dwave.sapi.problem-data+json", resp.Content.Headers.ContentType!.MediaType);
        Assert.Equal(id, info!["id"]!.GetValue<string>());
        Assert.Equal(job["data"]!["lin"]!.GetValue<string>(), info["data"]!["lin"]!.GetValue<string>());
        Assert.Equal(7, info["params"]!["num_reads"]!.GetValue<int>());
        var meta = info["metadata"]!;
        Assert.Equal("info-me", meta["label"]!.GetValue<string>());
        Assert.Equal(SimulatorHarness.Solver, meta["solver"]!["name"]!.GetValue<string>());
        Assert.Equal("ising", meta["type"]!.GetValue<string>());
        Assert.Equal("COMPLETED", meta["status"]!.GetValue<string>());
        Assert.Matches(SapiTime, meta["submitted_on"]!.GetValue<string>());
        Assert.DoesNotContain(SimulatorHarness.Token, info.ToJsonString());
        Assert.NotNull(info["answer"]);
        var (mc, messages, mr) = await Send(HttpMethod.Get, $"problems/{id}/messages/", media: "application/vnd.dwave.sapi.problem-message+json");
        Assert.Equal(HttpStatusCode.OK, mc);
        Assert.Equal("application/vnd.dwave.sapi.problem-message+json", mr.Content.Headers.ContentType!.MediaType);
        Assert.Empty(Assert.IsType<JsonArray>(messages));

        _hx.Sim.Faults.FailNextProblems(1, "simulated calibration fault");
        var (_, failed, _) = await Send(HttpMethod.Post, "problems/", Job(h: 0.25).ToJsonString());
        Assert.Equal("FAILED", failed!["status"]!.GetValue<string>());
        var (_, fm, _) = await Send(HttpMethod.Get, $"problems/{failed["id"]!.GetValue<string>()}/messages/", media: "application/vnd.dwave.sapi.problem-message+json");
        Assert.Contains("calibration", fm!.ToJsonString());
        var (nc, nb, _) = await Send(HttpMethod.Get, "problems/nosuch/info", media: "application/vnd.dwave.sapi.problem-data+json");
        Assert.Equal(HttpStatusCode.NotFound, nc);
        AssertError(nb, 404, "nosuch");
    }

    [Fact]
    public async Task ProblemList_FiltersByLabelStatusSolverAndMaxResults_AndRejectsBadFilters()
    {
        foreach (var l in new[] { "run-a-1", "run-a-2", "run-b-1" })
            await Send(HttpMethod.Post, "problems/", Job(label: l).ToJsonString());
        _hx.Sim.Faults.FailNextProblems(1);
        await Send(HttpMethod.Post, "problems/", Job(label: "run-a-3").ToJsonString());

        async Task<string[]> Labels(string query)
        {
            var (code, body, _) = await Send(HttpMethod.Get, "problems/" + query);
            Assert.Equal(HttpStatusCode.OK, code);
            return Assert.IsType<JsonArray>(body).Select(x => x!["label"]?.GetValue<string>() ?? "").ToArray();
        }
        Assert.Equal(new[] { "run-a-3", "run-a-2", "run-a-1" }, await Labels("?label=run-a"));
        Assert.Equal(new[] { "run-a-2", "run-a-1" }, await Labels("?label=run-a&status=COMPLETED"));
        Assert.Equal(new[] { "run-a-3" }, await Labels("?status=FAILED"));
        Assert.Equal(new[] { "run-a-3", "run-b-1" }, await Labels("?max_results=2"));
        Assert.Equal(4, (await Labels($"?solver={SimulatorHarness.Solver}")).Length);
        Assert.Empty(await Labels($"?solver={SimulatorHarness.Solver2}"));

        var (c1, b1, _) = await Send(HttpMethod.Get, "problems/?status=DONE");
        Assert.Equal(HttpStatusCode.BadRequest, c1);
        AssertError(b1, 400, "DONE");
        var (c2, b2, _) = await Send(HttpMethod.Get, "problems/?max_results=0");
        Assert.Equal(HttpStatusCode.BadRequest, c2);
        AssertError(b2, 400, "max_results");
        var (c3, b3, _) = await Send(HttpMethod.Get, "problems/?id=x&timeout=abc");
        Assert.Equal(HttpStatusCode.BadRequest, c3);
        AssertError(b3, 400, "timeout");
    }

    [Fact]
    public async Task SolverFilter_SelectsFields_AsOceanAsksForThem()
    {
        var (c1, s1, _) = await Send(HttpMethod.Get, "solvers/remote/?filter=all,-status,-avg_load", media: SapiClient.SolverListType);
        Assert.Equal(HttpStatusCode.OK, c1);
        var rec = Assert.IsType<JsonArray>(s1)[0]!.AsObject();
        Assert.Equal(new[] { "identity", "description", "properties" }, rec.Select(kv => kv.Key).ToArray());
        Assert.NotNull(rec["properties"]!["qubits"]);

        var (_, s2, _) = await Send(HttpMethod.Get, "solvers/remote/?filter=none,%2Bidentity,%2Bstatus,%2Bavg_load", media: SapiClient.SolverListType);
        foreach (var r in Assert.IsType<JsonArray>(s2))
        {
            Assert.Equal(new[] { "identity", "status", "avg_load" }, r!.AsObject().Select(kv => kv.Key).ToArray());
            Assert.Equal("ONLINE", r["status"]!.GetValue<string>());
        }

        var (_, s3, _) = await Send(HttpMethod.Get, $"solvers/remote/{SimulatorHarness.Solver}/?filter=none,%2Bidentity.name,%2Bproperties.num_qubits,%2Bproperties.topology.type",
            media: SapiClient.SolverType);
        Assert.Equal("{\"identity\":{\"name\":\"" + SimulatorHarness.Solver + "\"},\"properties\":{\"num_qubits\":" + _solver.NumQubits
            + ",\"topology\":{\"type\":\"" + _solver.TopologyType + "\"}}}", s3!.ToJsonString());
        var (_, s4, _) = await Send(HttpMethod.Get, $"solvers/remote/{SimulatorHarness.Solver}/?filter=all,-properties.qubits,-properties.couplers,-description", media: SapiClient.SolverType);
        Assert.Null(s4!["description"]);
        Assert.Null(s4["properties"]!["qubits"]);
        Assert.NotNull(s4["properties"]!["h_range"]);

        var (c5, s5, _) = await Send(HttpMethod.Get, "solvers/remote/?filter=some,%2Bidentity", media: SapiClient.SolverListType);
        Assert.Equal(HttpStatusCode.BadRequest, c5);
        AssertError(s5, 400, "all");
        var (c6, s6, _) = await Send(HttpMethod.Get, "solvers/remote/?filter=none,identity", media: SapiClient.SolverListType);
        Assert.Equal(HttpStatusCode.BadRequest, c6);
        AssertError(s6, 400, "+field");
    }

    [Fact]
    public async Task SolverData_CarriesETagAndCacheControl_And304WhenUnchanged()
    {
        string path = $"solvers/remote/{SimulatorHarness.Solver}/";
        var (c1, _, r1) = await Send(HttpMethod.Get, path, media: SapiClient.SolverType);
        Assert.Equal(HttpStatusCode.OK, c1);
        var etag = r1.Headers.ETag;
        Assert.NotNull(etag);
        Assert.True(r1.Headers.CacheControl!.Private);
        Assert.NotNull(r1.Headers.CacheControl.MaxAge);
        var (c2, b2, r2) = await Send(HttpMethod.Get, path, media: SapiClient.SolverType, adjust: r => r.Headers.IfNoneMatch.Add(etag!));
        Assert.Equal(HttpStatusCode.NotModified, c2);
        Assert.Null(b2);
        Assert.Equal(etag, r2.Headers.ETag);
        // The static part is long-cacheable; the part with status is not.
        var (_, _, rs) = await Send(HttpMethod.Get, path + "?filter=all,-status,-avg_load", media: SapiClient.SolverType);
        Assert.True(rs.Headers.CacheControl!.MaxAge > r1.Headers.CacheControl.MaxAge);
        // A changed record (the solver went offline) has a new ETag, so the old one no longer gives 304.
        _hx.Sim.Faults.SetSolverOffline(SimulatorHarness.Solver, true);
        var (c3, b3, r3) = await Send(HttpMethod.Get, path, media: SapiClient.SolverType, adjust: r => r.Headers.IfNoneMatch.Add(etag!));
        Assert.Equal(HttpStatusCode.OK, c3);
        Assert.Equal("OFFLINE", b3!["status"]!.GetValue<string>());
        Assert.NotEqual(etag, r3.Headers.ETag);
    }

    [Fact]
    public async Task GetProblem_WithTimeout_WaitsForTheAnswer_WithoutItAnswersAtOnce()
    {
        _hx.Sim.Faults.AnswerDelay = TimeSpan.FromSeconds(1.5);
        var (_, list, _) = await Send(HttpMethod.Post, "problems/", new JsonArray(Job()).ToJsonString());
        string id = list![0]!["id"]!.GetValue<string>();
        var (_, now, _) = await Send(HttpMethod.Get, $"problems/{id}/", media: SapiClient.ProblemType);
        Assert.NotEqual("COMPLETED", now!["status"]!.GetValue<string>());
        var sw = Stopwatch.StartNew();
        var (code, waited, _) = await Send(HttpMethod.Get, $"problems/{id}/?timeout=10", media: SapiClient.ProblemType);
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("COMPLETED", waited!["status"]!.GetValue<string>());
        Assert.NotNull(waited["answer"]);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(9), $"answered after {sw.Elapsed}, not when the problem completed");
        var (c2, b2, _) = await Send(HttpMethod.Get, $"problems/{id}/?timeout=31", media: SapiClient.ProblemType);
        Assert.Equal(HttpStatusCode.BadRequest, c2);
        AssertError(b2, 400, "1..30");
    }

    [Fact]
    public async Task MissingAcceptVersion_GetsAnXDeprecationHeader_InRfc9651ListForm()
    {
        var r = Req(HttpMethod.Get, "solvers/remote/?filter=none,%2Bidentity", "application/vnd.dwave.sapi.solver-definition-list+json");
        using var resp = await _http.SendAsync(r);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        string dep = Assert.Single(resp.Headers.GetValues("X-Deprecation"));
        // One list member: a token with parameters context (a string from Ocean's DeprecationContext), message
        // (a string) and sunset (an RFC 9651 Date); the fields dwave-cloud-client's DeprecationMessage requires.
        var m = Regex.Match(dep, "^([a-z*][a-z0-9_.:%*/-]*)((?:;[a-z*][a-z0-9_.*-]*=(?:\"(?:[^\"\\\\]|\\\\.)*\"|@-?\\d+|-?\\d+))*)$");
        Assert.True(m.Success, dep);
        var ps = Regex.Matches(m.Groups[2].Value, ";([a-z*][a-z0-9_.*-]*)=").Select(x => x.Groups[1].Value).ToArray();
        Assert.Contains("context", ps);
        Assert.Contains("message", ps);
        Assert.Contains("sunset", ps);
        Assert.Matches(";context=\"(api|feature|parameter|solver|other)\"", dep);
        Assert.Matches(";sunset=@\\d{10}", dep);
        var versioned = Req(HttpMethod.Get, "solvers/remote/?filter=none,%2Bidentity", $"{SapiClient.SolverListType}; version=3.0.0");
        using var ok = await _http.SendAsync(versioned);
        Assert.False(ok.Headers.Contains("X-Deprecation"));
    }

    [Theory]
    [InlineData("solver", "\"Sim_Kings\"", "'solver' must be an object")]
    [InlineData("label", "5", "'label' must be a string")]
    [InlineData("type", "1", "'type' must be a string")]
    [InlineData("data", "\"qp\"", "'data' must be an object")]
    [InlineData("params", "[]", "'params' must be an object")]
    [InlineData("params.auto_scale", "\"false\"", "'auto_scale' must be true or false")]
    [InlineData("params.num_reads", "\"10\"", "'num_reads' must be an integer")]
    [InlineData("params.num_reads", "2.5", "'num_reads' must be an integer")]
    [InlineData("params.annealing_time", "true", "'annealing_time' must be a number")]
    [InlineData("params.answer_mode", "1", "'answer_mode' must be the string")]
    [InlineData("params.x_trace", "1", "Unknown parameter 'x_trace'")]
    [InlineData("data.lin", "7", "'lin' must be a string")]
    [InlineData("data.offset", "\"0\"", "'data.offset' must be a number")]
    public async Task IllTypedFields_Are400s_WithAMessage_InListAndSingleSubmits(string field, string json, string message)
    {
        var job = Job();
        var parts = field.Split('.');
        var target = parts.Length == 1 ? job : job[parts[0]]!.AsObject();
        target[parts[^1]] = JsonNode.Parse(json);
        var (code, body, _) = await Send(HttpMethod.Post, "problems/", new JsonArray(job.DeepClone()).ToJsonString());
        Assert.Equal(HttpStatusCode.OK, code);
        AssertError(Assert.IsType<JsonArray>(body)[0], 400, message);
        var (c2, b2, r2) = await Send(HttpMethod.Post, "problems/", job.ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, c2);
        Assert.Equal("application/json", r2.Content.Headers.ContentType!.MediaType);
        AssertError(b2, 400, message);
    }

    [Fact]
    public async Task UnknownRoutes_AndWrongMethods_AnswerWithAJsonErrorBody()
    {
        foreach (var (m, path) in new[] { (HttpMethod.Get, "nosuch/thing"), (HttpMethod.Get, "problems/x/y/z"), (HttpMethod.Put, "problems/"), (HttpMethod.Post, "solvers/remote/") })
        {
            var (code, body, resp) = await Send(m, path);
            Assert.True((int)code is 404 or 405, $"{m} {path}: {code}");
            Assert.Equal("application/json", resp.Content.Headers.ContentType!.MediaType);
            AssertError(body, (int)code, path.Split('/')[0]);
        }
    }

    [Fact]
    public async Task CancelOfAnEmptyList_Is400()
    {
        var (code, body, _) = await Send(HttpMethod.Delete, "problems/", "[]");
        Assert.Equal(HttpStatusCode.BadRequest, code);
        AssertError(body, 400, "empty");
        var (c2, b2, _) = await Send(HttpMethod.Delete, "problems/", "[1,2]");
        Assert.Equal(HttpStatusCode.BadRequest, c2);
        AssertError(b2, 400, "string");
    }

    [Fact]
    public async Task GraphId_FollowsTheWorkingGraph_AndAStaleOneIsRefused()
    {
        var g = TestGraphs.Kings(4, 4, first: 30);
        string id = SimulatedSolverSpec.AdvantageLike("A", g).EffectiveGraphId;
        Assert.Matches("^[0-9a-f]{10}$", id);
        Assert.Equal(id, SimulatedSolverSpec.AdvantageLike("B", TestGraphs.Kings(4, 4, first: 30)).EffectiveGraphId);
        Assert.NotEqual(id, SimulatedSolverSpec.AdvantageLike("A", g.WithoutQubits([35])).EffectiveGraphId);
        Assert.NotEqual(id, SimulatedSolverSpec.AdvantageLike("A", g with { Couplers = g.Couplers[1..] }).EffectiveGraphId);
        Assert.Equal(_hx.Sim.Qpu(SimulatorHarness.Solver).Spec.EffectiveGraphId, _solver.GraphId);

        var job = Job();
        job["solver"]!["version"]!["graph_id"] = "0123456789";
        var (_, body, _) = await Send(HttpMethod.Post, "problems/", new JsonArray(job).ToJsonString());
        AssertError(body![0], 400, "graph_id");
    }

    [Fact]
    public async Task AdvertisedParameters_HaveTheirDocumentedProperties_AndAreChecked()
    {
        var p = _solver.Properties;
        foreach (var name in new[] { "anneal_offsets", "h_gain_schedule", "fast_anneal", "flux_biases", "anneal_schedule" })
            Assert.True(_solver.Parameters.ContainsKey(name), name);
        var ranges = Assert.IsType<JsonArray>(p["anneal_offset_ranges"]);
        Assert.Equal(_solver.NumQubits, ranges.Count);
        Assert.Equal(2, ranges[0]!.AsArray().Count);
        Assert.NotNull(p["anneal_offset_step"]);
        Assert.NotNull(p["anneal_offset_step_phi0"]);
        Assert.Equal(2, p["h_gain_schedule_range"]!.AsArray().Count);
        Assert.True(p["max_h_gain_schedule_points"]!.GetValue<int>() >= 2);
        Assert.Equal(2, p["fast_anneal_time_range"]!.AsArray().Count);
        Assert.NotNull(p["max_anneal_schedule_points"]);

        async Task<JsonNode?> Submit(JsonObject prm)
        {
            prm["num_reads"] = 5;
            var (_, body, _) = await Send(HttpMethod.Post, "problems/", new JsonArray(Job(prm: prm)).ToJsonString());
            return body![0];
        }
        var zeros = new JsonArray(Enumerable.Range(0, _solver.NumQubits).Select(_ => (JsonNode?)0.0).ToArray());
        Assert.Null((await Submit(new JsonObject { ["anneal_offsets"] = zeros.DeepClone() }))!["error_code"]);
        AssertError(await Submit(new JsonObject { ["anneal_offsets"] = new JsonArray(0.0, 0.0) }), 400, "anneal_offsets");
        var big = zeros.DeepClone().AsArray();
        big[3] = 0.9;
        AssertError(await Submit(new JsonObject { ["anneal_offsets"] = big }), 400, "anneal_offset_ranges[3]");
        Assert.Null((await Submit(new JsonObject { ["h_gain_schedule"] = JsonNode.Parse("[[0,1],[20,1]]") }))!["error_code"]);
        AssertError(await Submit(new JsonObject { ["h_gain_schedule"] = JsonNode.Parse("[[0,1],[20,9]]") }), 400, "h_gain_schedule_range");
        AssertError(await Submit(new JsonObject { ["flux_biases"] = zeros.DeepClone() }), 400, "auto_scale");
    }
}
