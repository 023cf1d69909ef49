using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using QaActors.DWave.Config;
using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;

namespace QaActors.DWave.Tests;

/// <summary>Answers every request with what the test says, recording the requests.</summary>
internal sealed class StubHandler(Func<HttpRequestMessage, HttpResponseMessage> respond) : HttpMessageHandler
{
    public List<HttpRequestMessage> Requests { get; } = new();

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        lock (Requests) Requests.Add(request);
        return Task.FromResult(respond(request));
    }

    public static HttpResponseMessage Json(string body, string media, HttpStatusCode code = HttpStatusCode.OK)
    {
        var r = new HttpResponseMessage(code) { Content = new StringContent(body, Encoding.UTF8) };
        r.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(media);
        return r;
    }
}

/// <summary>A body that never ends (an endless chunked response), counting what was read from it.</summary>
internal sealed class EndlessStream : Stream
{
    public long Served { get; private set; }
    public override int Read(byte[] buffer, int offset, int count)
    {
        buffer.AsSpan(offset, count).Fill((byte)'[');
        Served += count;
        return count;
    }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>The client items of issue 8 (dwave-cloud-client 0.14 conformance): settings, selection, and what it accepts from a server.</summary>
public sealed class ClientConformanceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("qa-dwave-client-").FullName;
    private readonly Dictionary<string, string> _env = new();

    public ClientConformanceTests() => _env["XDG_CONFIG_DIRS"] = Path.Combine(_root, "etc");
    public void Dispose() => Directory.Delete(_root, recursive: true);

    private DWaveConfigSources Sources => new(k => _env.GetValueOrDefault(k), _root, _root);
    private DWaveConfig Load(DWaveConfigOverrides? o = null) => DWaveConfig.Load(o, Sources);
    private void Conf(string text)
    {
        Directory.CreateDirectory(Path.Combine(_root, ".config", "dwave"));
        File.WriteAllText(Path.Combine(_root, ".config", "dwave", "dwave.conf"), text);
    }

    internal static SapiClient StubClient(StubHandler h, Func<SapiClientOptions, SapiClientOptions>? adjust = null)
    {
        var o = new SapiClientOptions
        {
            Endpoint = new Uri("http://sapi.test/sapi/v2/"),
            Token = new SecretToken("DEV-stub"),
            Retry = SimulatorHarness.Fast,
            RequestTimeout = TimeSpan.FromSeconds(5),
        };
        return new SapiClient(adjust is null ? o : adjust(o), h);
    }

    // ------------------------------------------------------------ token

    [Theory]
    [InlineData("DEV-abc\nX-Injected: 1", "control character")]
    [InlineData("DEV-abc\rdef", "control character")]
    [InlineData("DEV-ab\u0000cd", "control character")]
    [InlineData("DEV-tökén", "non-ASCII")]
    [InlineData("DEV-abc def", "space")]
    public void Token_WithControlOrNonAsciiCharacters_IsRefusedClearly_WithoutEchoingIt(string token, string why)
    {
        _env["DWAVE_API_TOKEN"] = token;
        var e = Assert.Throws<DWaveConfigException>(() => Load());
        Assert.Contains("DWAVE_API_TOKEN", e.Message);
        Assert.Contains(why, e.Message);
        Assert.DoesNotContain("Injected", e.Message);
        Assert.DoesNotContain("abc", e.Message);
        _env.Remove("DWAVE_API_TOKEN");
        var f = Assert.Throws<DWaveConfigException>(() => Load(new DWaveConfigOverrides { Token = token }));
        Assert.Contains("--token", f.Message);
        Assert.Throws<ArgumentException>(() => new SecretToken(token));
        // Surrounding whitespace (a trailing newline from a file or $(cat ...)) is not part of the token.
        Assert.Equal("DEV-ok", new SecretToken(" DEV-ok\n").Reveal());
    }

    // ------------------------------------------------------------ proxy, headers, timeouts and the rest

    [Fact]
    public void ProxyHeadersAndTimeouts_AreRead_AndReachTheClient()
    {
        Conf("[p]\ntoken = DEV-x\nendpoint = http://127.0.0.1:9/sapi/v2/\nrequest_timeout = (5, 42.5)\npolling_timeout = 300\n" +
             "headers = X-Team: qa\n  X-Run: 7\nconnection_close = yes\ncompress_qpu_problem_data = false\npoll_wait_time = 12\nhttp_retry_total = 3\n" +
             "leap_api_endpoint = https://cloud.dwavesys.com/leap/api/\nclient = qpu\npermissive_ssl = False\n");
        _env["DWAVE_API_PROXY"] = "http://user:s3cret@proxy.example:3128";
        var c = Load();
        Assert.Equal(new Uri("http://user:s3cret@proxy.example:3128"), c.Proxy);
        Assert.DoesNotContain("s3cret", c.ToString());
        Assert.Equal(TimeSpan.FromSeconds(5), c.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(42.5), c.ReadTimeout);
        using var client = SapiClient.FromConfig(c);
        var o = client.Options;
        Assert.Equal(TimeSpan.FromSeconds(42.5), o.RequestTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), o.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(300), o.PollingTimeout);
        Assert.Equal(c.Proxy, o.Proxy);
        Assert.Equal(new[] { KeyValuePair.Create("X-Team", "qa"), KeyValuePair.Create("X-Run", "7") }, o.Headers);
        Assert.True(o.ConnectionClose);
        Assert.False(o.CompressRequests);
        Assert.Equal(12, o.LongPollSeconds);
        Assert.Equal(4, o.Retry.MaxAttempts);
    }

    [Theory]
    [InlineData("proxy = not a url", "'proxy'")]
    [InlineData("proxy = ftp://proxy.example", "'proxy'")]
    [InlineData("headers = no colon here", "'headers'")]
    [InlineData("headers = X-Auth-Token: other", "'headers'")]
    [InlineData("request_timeout = fast", "'request_timeout'")]
    [InlineData("request_timeout = (1, 2, 3)", "'request_timeout'")]
    [InlineData("polling_timeout = -1", "'polling_timeout'")]
    [InlineData("poll_wait_time = 90", "'poll_wait_time'")]
    [InlineData("connection_close = maybe", "'connection_close'")]
    [InlineData("permissive_ssl = true", "'permissive_ssl = true'")]
    [InlineData("client = hybrid", "'client = hybrid'")]
    [InlineData("poll_strategy = backoff", "'poll_strategy = backoff'")]
    [InlineData("client_cert = /etc/cert.pem", "'client_cert'")]
    [InlineData("http_retry_backoff_factor = 0.5", "'http_retry_backoff_factor'")]
    [InlineData("proxx = http://typo.example", "'proxx'")]
    public void Settings_ThatCannotBeHonoured_AreRefusedByName_WithTheirOrigin(string line, string named)
    {
        Conf("[p]\ntoken = DEV-x\n" + line + "\n");
        var e = Assert.Throws<DWaveConfigException>(() => Load());
        Assert.Contains(named, e.Message);
        Assert.Contains("dwave.conf [p]", e.Message);
    }

    [Fact]
    public async Task Headers_AreSentOnEveryRequest_AndConnectionCloseToo()
    {
        var h = new StubHandler(_ => StubHandler.Json("[]", $"{SapiClient.SolverListType}; version=3.0.0"));
        using var c = StubClient(h, o => o with { Headers = [KeyValuePair.Create("X-Team", "qa")], ConnectionClose = true });
        await c.ListSolversAsync();
        var req = Assert.Single(h.Requests);
        Assert.Equal("qa", req.Headers.GetValues("X-Team").Single());
        Assert.True(req.Headers.ConnectionClose);
        Assert.Equal("DEV-stub", req.Headers.GetValues("X-Auth-Token").Single());
    }

    [Fact]
    public async Task Proxy_IsUsed_RequestsGoThroughIt()
    {
        // The proxy is the simulator (Kestrel serves absolute-form request targets); the endpoint's host does not
        // exist, so the call can only succeed through the proxy.
        await using var hx = await SimulatorHarness.StartAsync();
        _env["DWAVE_API_ENDPOINT"] = "http://sapi.invalid/sapi/v2/";
        _env["DWAVE_API_TOKEN"] = SimulatorHarness.Token;
        _env["DWAVE_API_PROXY"] = hx.Sim.BaseUrl.AbsoluteUri;
        using var c = SapiClient.FromConfig(Load(), o => o with { Retry = SimulatorHarness.Fast });
        var solvers = await c.ListSolversAsync();
        Assert.Contains(solvers, s => s.Name == SimulatorHarness.Solver);
        _env.Remove("DWAVE_API_PROXY");
        using var direct = SapiClient.FromConfig(Load(), o => o with { Retry = SimulatorHarness.Fast with { MaxAttempts = 1 } });
        await Assert.ThrowsAsync<SapiException>(() => direct.ListSolversAsync());
    }

    // ------------------------------------------------------------ regions

    [Fact]
    public async Task Region_IsResolvedThroughTheMetadataApi_UnknownOnesNamingTheKnown()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        SapiRegions.ClearCache();
        _env["DWAVE_METADATA_API_ENDPOINT"] = hx.Sim.MetadataEndpoint.AbsoluteUri;
        _env["DWAVE_API_REGION"] = SapiSimulator.RegionCode;
        _env["DWAVE_API_TOKEN"] = SimulatorHarness.Token;
        var cfg = Load();
        Assert.True(cfg.NeedsMetadataLookup);
        Assert.Equal(hx.Sim.SapiEndpoint, await cfg.ResolveEndpointAsync());
        // End to end: the client looks the region up on first use and then talks to that endpoint.
        using (var c = SapiClient.FromConfig(cfg, o => o with { Retry = SimulatorHarness.Fast }))
        {
            Assert.Contains(await c.ListSolversAsync(), s => s.Name == SimulatorHarness.Solver);
            Assert.Equal(hx.Sim.SapiEndpoint, await c.EndpointAsync());
        }
        // A region the Metadata API does not list is refused, naming those it does.
        _env["DWAVE_API_REGION"] = "eu-central-1";
        var e = await Assert.ThrowsAsync<DWaveConfigException>(() => Load().ResolveEndpointAsync());
        Assert.Contains("eu-central-1", e.Message);
        Assert.Contains(SapiSimulator.RegionCode, e.Message);
        Assert.Contains("Metadata API", e.Message);
    }

    [Fact]
    public async Task Region_FallsBackToTheBuiltInList_WhenTheMetadataApiCannotBeReached()
    {
        SapiRegions.ClearCache();
        var log = new List<string>();
        _env["DWAVE_METADATA_API_ENDPOINT"] = "http://metadata.test/metadata/v1/";
        _env["DWAVE_API_REGION"] = "eu-central-1";
        var down = new StubHandler(_ => throw new HttpRequestException("connection refused"));
        Assert.Equal("https://eu-central-1.cloud.dwavesys.com/sapi/v2/", (await Load().ResolveEndpointAsync(down, log.Add)).AbsoluteUri);
        Assert.Contains(log, l => l.Contains("built-in"));
        // A wrong media type is not a region list either.
        var html = new StubHandler(_ => StubHandler.Json("<html/>", "text/html"));
        Assert.Equal("https://eu-central-1.cloud.dwavesys.com/sapi/v2/", (await Load().ResolveEndpointAsync(html)).AbsoluteUri);
        _env["DWAVE_API_REGION"] = "xx-nowhere-9";
        var e = await Assert.ThrowsAsync<DWaveConfigException>(() => Load().ResolveEndpointAsync(down));
        Assert.Contains("xx-nowhere-9", e.Message);
        Assert.Contains("na-west-1, eu-central-1, na-east-1", e.Message);
        // The Metadata API's own list is used when it answers, also for regions the built-in list lacks.
        var up = new StubHandler(_ => StubHandler.Json("""[{"code":"xx-nowhere-9","name":"X","endpoint":"https://x.example/sapi/v2/"}]""", SapiRegions.MediaType));
        Assert.Equal("https://x.example/sapi/v2/", (await Load().ResolveEndpointAsync(up)).AbsoluteUri);
        Assert.Equal(SapiRegions.MediaType, up.Requests.Single().Headers.Accept.Single().MediaType);
        Assert.Equal("http://metadata.test/metadata/v1/regions/", up.Requests.Single().RequestUri!.AbsoluteUri);
    }

    // ------------------------------------------------------------ solver selection

    private static IReadOnlyList<SolverInfo> Fleet()
    {
        var model = new SimulatedQpuModel { Sampler = new HardwareAnnealer(10) };
        SolverInfo Info(SimulatedSolverSpec s, string status = "ONLINE", double load = 0) => SolverInfo.Parse(new SimulatedQpu(s, model).RecordText(status, load));
        return
        [
            Info(SimulatedSolverSpec.AdvantageLike("Adv_P2", LatticeGraphSource.Instance.Build("pegasus", [2])), load: 0.5),
            Info(SimulatedSolverSpec.Advantage2Like("Adv2_Z1", LatticeGraphSource.Instance.Build("zephyr", [1, 4])), load: 0.1),
            Info(SimulatedSolverSpec.Advantage2Like("Adv2_Z2", LatticeGraphSource.Instance.Build("zephyr", [2, 4])), load: 0.9),
            Info(SimulatedSolverSpec.AdvantageLike("Adv_Off", LatticeGraphSource.Instance.Build("pegasus", [3])), status: "OFFLINE"),
        ];
    }

    [Theory]
    [InlineData("{\"qpu\": true}", "Adv2_Z2")]
    [InlineData("{\"topology__type\": \"zephyr\"}", "Adv2_Z2")]
    [InlineData("{\"topology__type__eq\": \"pegasus\"}", "Adv_P2")]
    [InlineData("{\"topology__type\": \"zephyr\", \"order_by\": \"avg_load\"}", "Adv2_Z1")]
    [InlineData("{\"num_active_qubits__lt\": 100}", "Adv2_Z1")]
    [InlineData("{\"num_qubits__gte\": 40, \"topology__type\": \"pegasus\"}", "Adv_P2")]
    [InlineData("{\"num_qubits__gt\": 100}", "Adv2_Z2")]
    [InlineData("{\"name__regex\": \"Adv2_.*1\"}", "Adv2_Z1")]
    [InlineData("{\"per_group_coupling_range__available\": false}", "Adv_P2")]
    [InlineData("{\"flux_biases\": true, \"per_qubit_coupling_range__covers\": [-18, 15]}", "Adv_P2")]
    [InlineData("{\"num_reads_range__covers\": 1000, \"topology__shape__contains\": 2, \"topology__type\": \"zephyr\"}", "Adv2_Z2")]
    [InlineData("{\"supported_problem_types__issubset\": [\"ising\", \"qubo\", \"bqm\"], \"annealing_time_range__within\": [0, 5000], \"order_by\": \"-avg_load\"}", "Adv2_Z2")]
    [InlineData("{\"online\": false}", "Adv_Off")]
    [InlineData("Adv_Off", "Adv_Off")]
    public void SolverSetting_AcceptsOceansFeatureFilter_OrAName(string setting, string chosen)
    {
        var sel = SolverSelector.Parse(setting, "test");
        var hits = sel.Select(Fleet());
        Assert.NotEmpty(hits);
        Assert.Equal(chosen, hits[0].Name);
        Assert.All(hits, s => Assert.True(sel.Matches(s)));
    }

    [Fact]
    public void SolverFilter_ThatMatchesNothing_MatchesNothing_AndMalformedOnesAreRefused()
    {
        Assert.Empty(SolverSelector.Parse("{\"num_qubits__gte\": 5000}", "t").Select(Fleet()));
        Assert.Empty(SolverSelector.Parse("{\"topology__type\": \"chimera\"}", "t").Select(Fleet()));
        foreach (var bad in new[] { "{\"qpu\": true", "{\"a____b\": 1}", "{\"name__regex\": \"(\"}", "{\"h_range__covers\": \"x\"}", "{\"order_by\": 5}", "[1,2]" })
        {
            if (!bad.StartsWith('{')) continue;
            var e = Assert.Throws<DWaveConfigException>(() => SolverSelector.Parse(bad, "DWAVE_API_SOLVER"));
            Assert.Contains("DWAVE_API_SOLVER", e.Message);
        }
        _env["DWAVE_API_SOLVER"] = "{\"qpu\": tru}";
        Assert.Contains("DWAVE_API_SOLVER", Assert.Throws<DWaveConfigException>(() => Load()).Message);
        _env["DWAVE_API_SOLVER"] = "{\"topology__type\": \"zephyr\"}";
        Assert.True(Load().SolverSelector!.IsFeatureFilter);
    }

    [Fact]
    public async Task SelectSolver_OverHttp_UsesTheFilter_AndSaysWhatExistsWhenNothingMatches()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        Assert.Equal(SimulatorHarness.Solver2, (await c.SelectSolverAsync(SolverSelector.Parse("{\"per_group_coupling_range__available\": true}", "t"))).Name);
        Assert.Equal(SimulatorHarness.Solver, (await c.SelectSolverAsync(SolverSelector.Parse(SimulatorHarness.Solver, "t"))).Name);
        Assert.Equal(SimulatorHarness.Solver, (await c.SelectSolverAsync(null)).Name);
        var e = await Assert.ThrowsAsync<SapiException>(() => c.SelectSolverAsync(SolverSelector.Parse("{\"num_qubits__gte\": 5000}", "t")));
        Assert.Equal(SapiErrorKind.NotFound, e.Kind);
        Assert.Contains("num_qubits__gte", e.Message);
        Assert.Contains(SimulatorHarness.Solver2, e.Message);
    }

    // ------------------------------------------------------------ what the client accepts from a server

    private const string Answer = """{"format":"qp","num_variables":64,"active_variables":"HgAAAB8AAAA=","energies":"AAAAAAAA8L8AAAAAAADwvw==","num_occurrences":"BgAAAAQAAAA=","solutions":"AMA=","timing":{"qpu_access_time":10}}""";

    [Fact]
    public void AnswerOffset_IsUsed_WhenTheServerSendsIt()
    {
        var withOffset = (JsonObject)JsonNode.Parse(Answer)!;
        withOffset["offset"] = 2.5;
        var a = QpAnswer.Decode(withOffset, "ising");
        Assert.Equal(2.5, a.Offset);
        // The server's offset replaces the client's own (dwave-cloud-client _patch_offset only fills a missing one).
        Assert.Equal(new[] { 1.5, 1.5 }, a.ToSampleSet(0.75, "p", "s").Energies.ToArray());
        var without = QpAnswer.Decode((JsonObject)JsonNode.Parse(Answer)!, "ising");
        Assert.Null(without.Offset);
        Assert.Equal(new[] { -0.25, -0.25 }, without.ToSampleSet(0.75, "p", "s").Energies.ToArray());
        withOffset["offset"] = "2.5";
        Assert.Equal(SapiErrorKind.Protocol, Assert.Throws<SapiException>(() => QpAnswer.Decode(withOffset, "ising")).Kind);
    }

    [Theory]
    [InlineData("""{"id":"p1"}""", "no 'status'")]
    [InlineData("""{"id":"p1","status":"DONE"}""", "unknown status 'DONE'")]
    [InlineData("""{"id":"p1","status":5}""", "not a string")]
    public async Task MissingOrUnknownStatus_IsAProtocolError_NotStillRunning(string status, string message)
    {
        Assert.Equal(SapiErrorKind.Protocol, Assert.Throws<SapiException>(() => ProblemStatus.Parse((JsonObject)JsonNode.Parse(status)!)).Kind);
        var h = new StubHandler(_ => StubHandler.Json("[" + status + "]", $"{SapiClient.ProblemsType}; version=3.0.0"));
        using var c = StubClient(h);
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<SapiException>(() => c.WaitAsync("p1", TimeSpan.FromSeconds(30)));
        Assert.Equal(SapiErrorKind.Protocol, e.Kind);
        Assert.Contains(message, e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}: the unknown status was polled as if running");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/html")]
    [InlineData("application/json")]
    [InlineData("application/vnd.dwave.sapi.solver-definition-list+json")]
    [InlineData("application/vnd.dwave.sapi.solver-definition-list+json; version=2.0.0")]
    public async Task ContentTypes_AreStrict(string? media)
    {
        var h = new StubHandler(_ =>
        {
            var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("[]")) };
            if (media is not null) r.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(media);
            return r;
        });
        using var c = StubClient(h);
        var e = await Assert.ThrowsAsync<SapiException>(() => c.ListSolversAsync());
        Assert.Equal(SapiErrorKind.Protocol, e.Kind);
        Assert.Contains("GET solvers/remote/", e.Message);
    }

    [Fact]
    public async Task MalformedAnswer_IsAProtocolError_NotAProblemThatDoesNotFit()
    {
        var h = new StubHandler(r =>
        {
            string path = r.RequestUri!.AbsolutePath;
            if (r.Method == HttpMethod.Post)
                return StubHandler.Json("""[{"id":"p1","type":"ising","status":"COMPLETED","solver":{"name":"S"},"submitted_on":"2026-01-01T00:00:00.000000Z"}]""", $"{SapiClient.ProblemsType}; version=3.0.0");
            if (path.EndsWith("/answer/"))
                return StubHandler.Json("""{"answer":{"format":"qp","num_variables":64,"active_variables":"%%%","energies":"","solutions":""}}""", $"{SapiClient.AnswerType}; version=3.0.0");
            return StubHandler.Json("{}", "application/json", HttpStatusCode.NotFound);
        });
        using var c = StubClient(h);
        var graph = TestGraphs.Kings(4, 4, first: 30);
        var info = SolverInfo.Parse(new SimulatedQpu(SimulatedSolverSpec.AdvantageLike("S", graph), new SimulatedQpuModel { Sampler = new HardwareAnnealer(10) }).RecordText("ONLINE", 0));
        var p = new QpuProblem("ising", new Dictionary<int, double> { [30] = 1 }, new Dictionary<(int, int), double>());
        var e = await Assert.ThrowsAsync<SapiException>(() => c.SampleAsync(info, p, new QpuParameters(), TimeSpan.FromSeconds(10)));
        Assert.Equal(SapiErrorKind.Protocol, e.Kind);
        Assert.False(e.DoesNotFitSolver);
        // Only a problem that really does not fit is BadProblem and "does not fit".
        var off = new QpuProblem("ising", new Dictionary<int, double> { [999] = 1 }, new Dictionary<(int, int), double>());
        var v = await Assert.ThrowsAsync<SapiValidationException>(() => c.SampleAsync(info, off, new QpuParameters(), TimeSpan.FromSeconds(10)));
        Assert.Equal(SapiErrorKind.BadProblem, v.Kind);
        Assert.True(v.DoesNotFitSolver);
        // A quota cap refuses the call for another reason.
        var cap = await Assert.ThrowsAsync<SapiException>(() => c.SampleAsync(info, p, new QpuParameters(), TimeSpan.FromSeconds(10), maxAccessTimeMicroseconds: 1));
        Assert.Contains("quota", cap.Message);
        Assert.False(cap.DoesNotFitSolver);
        // Malformed solver data is the server's fault too.
        var broken = new StubHandler(_ => StubHandler.Json("""[{"identity":{"name":"S"},"properties":{"qubits":[0],"couplers":[],"h_range":"wide","j_range":[-1,1]}}]""", $"{SapiClient.SolverListType}; version=3.0.0"));
        using var c3 = StubClient(broken);
        Assert.Equal(SapiErrorKind.Protocol, (await Assert.ThrowsAsync<SapiException>(() => c3.ListSolversAsync())).Kind);
    }
}

/// <summary>
/// Tests that measure the allocations of one call with the process-wide counter: run alone, since any test running
/// beside them allocates into the same counter (a CI run read 77 MB "for" a 1 MiB-limited body that way).
/// </summary>
[CollectionDefinition(nameof(AllocationMeasured), DisableParallelization = true)]
public sealed class AllocationMeasured;

[Collection(nameof(AllocationMeasured))]
public sealed class ResponseSizeLimitTests
{
    [Fact]
    public async Task ResponseBodies_AreSizeLimited_EndlessAndDeclaredHugeOnesFailEarly()
    {
        var endless = new EndlessStream();
        var h = new StubHandler(_ =>
        {
            var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(endless) };
            r.Content.Headers.ContentType = MediaTypeHeaderValue.Parse($"{SapiClient.SolverListType}; version=3.0.0");
            return r;
        });
        using var c = ClientConformanceTests.StubClient(h, o => o with { MaxResponseBytes = 1 << 20 });
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = await Assert.ThrowsAsync<SapiException>(() => c.ListSolversAsync());
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(SapiErrorKind.Protocol, e.Kind);
        Assert.Contains("larger than", e.Message);
        Assert.InRange(endless.Served, 1 << 20, (1 << 20) + (1 << 18));
        Assert.True(allocated < 32L << 20, $"{allocated} bytes allocated to refuse a 1 MiB-limited body");

        var declared = new StubHandler(_ =>
        {
            var r = StubHandler.Json("[]", $"{SapiClient.SolverListType}; version=3.0.0");
            r.Content.Headers.ContentLength = 5L << 30;
            return r;
        });
        using var c2 = ClientConformanceTests.StubClient(declared);
        var e2 = await Assert.ThrowsAsync<SapiException>(() => c2.ListSolversAsync());
        Assert.Contains("declares", e2.Message);
        // The default limit keeps a real P16 solver record (about 1.5 MB) well inside.
        Assert.True(new SapiClientOptions { Endpoint = new Uri("http://x/"), Token = new SecretToken("t") }.MaxResponseBytes >= 16 << 20);
    }
}
