using System.Diagnostics;
using System.Net.Http.Headers;
using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;
using QaActors.Sampling;

namespace QaActors.DWave.Tests;

/// <summary>The client against the simulator over real HTTP on 127.0.0.1: every endpoint, every injected fault.</summary>
public class SapiClientSimulatorTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static QpuProblem Chain(SolverInfo s, double j = -1, double h0 = 0.5)
    {
        // A ferromagnetic path 30-31-32-33 with a field on 30: ground state all spins opposite to h0's sign.
        var h = new Dictionary<int, double> { [30] = h0 };
        var jj = new Dictionary<(int, int), double> { [(30, 31)] = j, [(31, 32)] = j, [(32, 33)] = j };
        Assert.All(jj.Keys, k => Assert.True(s.HasCoupler(k.Item1, k.Item2)));
        return new QpuProblem("ising", h, jj, Offset: 0.75);
    }

    [Fact]
    public async Task Solvers_ListAndProperties_OverHttp()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var all = await c.ListSolversAsync();
        Assert.Equal(new[] { SimulatorHarness.Solver, SimulatorHarness.Solver2 }, all.Select(s => s.Name).OrderBy(x => x).ToArray());
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        Assert.Equal(16, s.Qubits.Length);
        Assert.Equal(30, s.Qubits[0]);
        Assert.Equal(new ValueRange(-4, 4), s.HRange);
        Assert.Equal("ONLINE", s.Status);
        Assert.Equal(14072.88, s.TimingData!.TypicalProgrammingTime);
        var z = await c.GetSolverAsync(SimulatorHarness.Solver2);
        Assert.Equal(60.57, z.TimingData!.QpuDelayTimePerSample);
        Assert.NotNull(z.Properties["per_group_coupling_range"]);
        var e = await Assert.ThrowsAsync<SapiException>(() => c.GetSolverAsync("NoSuchSolver"));
        Assert.Equal(SapiErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task SampleIsing_ReturnsGroundStates_TimingAsModel_OffsetAdded_AndChargesTheToken()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        // h0 = 2 makes the whole-chain flip cost 4, so annealing freezes into the ground state.
        var p = Chain(s, h0: 2);
        var prm = new QpuParameters { NumReads = 50, AutoScale = false };
        var r = await c.SampleAsync(s, p, prm, Deadline);
        var set = r.Samples;
        Assert.Equal(new[] { 30, 31, 32, 33 }, set.Variables.ToArray());
        Assert.Equal(50, set.TotalReads);
        // Histogram mode: energies ascending, ground state first: all -1 (h0 > 0), E = -2 - 3 + offset.
        Assert.Equal(new sbyte[] { -1, -1, -1, -1 }, set.Row(0).ToArray());
        Assert.Equal(-5 + 0.75, set.Energies[0], 9);
        for (int k = 0; k < set.NumRows; k++)
        {
            var row = set.Row(k);
            double e = 2 * row[0] - row[0] * row[1] - row[1] * row[2] - row[2] * row[3] + 0.75;
            Assert.Equal(e, set.Energies[k], 9);
            if (k > 0) Assert.True(set.Energies[k] >= set.Energies[k - 1]);
        }
        // At β_hw = 16 the ground state (gap ≥ 1) dominates.
        Assert.True(set.NumOccurrences[0] >= 45, $"ground state seen {set.NumOccurrences[0]} of 50 times");
        // Timing follows the published model for 4 active qubits, 50 reads; the estimate agrees.
        double expected = AccessTimeEstimator.EstimateAccessTime(s, 4, 50);
        Assert.Equal(expected, set.Info.Timing["qpu_access_time"], 1);
        Assert.Equal(set.Info.Timing["qpu_programming_time"] + set.Info.Timing["qpu_sampling_time"], set.Info.Timing["qpu_access_time"], 1);
        Assert.Equal(expected, r.Estimate!.QpuAccessTime, 6);
        Assert.Equal(r.ProblemId, set.Info.Notes["problem_id"]);
        Assert.Equal("qpu", set.Info.Sampler);
        var usage = hx.Sim.Usage(SimulatorHarness.Token);
        Assert.Equal(1, usage.ProblemsCompleted);
        Assert.Equal(set.Info.Timing["qpu_access_time"], usage.QpuAccessTimeMicroseconds, 6);
        // The same figure over HTTP (simulator-only admin endpoint), for the calling token only.
        using var http = new HttpClient();
        using var req = new HttpRequestMessage(HttpMethod.Get, new Uri(hx.Sim.SapiEndpoint, "_sim/usage"));
        req.Headers.Add("X-Auth-Token", SimulatorHarness.Token);
        var body = await (await http.SendAsync(req)).Content.ReadAsStringAsync();
        Assert.Contains("\"problems_completed\":1", body);
    }

    [Fact]
    public async Task Qubo_RawMode_Uncompressed_DecodeTo01_WithOneRowPerRead()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client(compress: false);
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        // QUBO: reward x30 = x31 = 1: Q = -1 on each diagonal, -1 off-diagonal; ground state (1,1), E = -3.
        var p = new QpuProblem("qubo", new Dictionary<int, double> { [30] = -1, [31] = -1 }, new Dictionary<(int, int), double> { [(30, 31)] = -1 }, 0);
        var r = await c.SampleAsync(s, p, new QpuParameters { NumReads = 20, AnswerMode = "raw", AutoScale = false }, Deadline);
        Assert.Equal(Vartype.Binary, r.Samples.Vartype);
        Assert.Equal(20, r.Samples.NumRows);
        Assert.All(r.Samples.NumOccurrences.ToArray(), n => Assert.Equal(1, n));
        Assert.False(r.Answer.OccurrencesFromServer);
        for (int k = 0; k < 20; k++)
        {
            var row = r.Samples.Row(k);
            Assert.Equal(-row[0] - row[1] - row[0] * row[1], r.Samples.Energies[k], 9);
        }
        Assert.True(r.Samples.Energies.ToArray().Count(e => e == -3) >= 18);
    }

    [Fact]
    public async Task SingleQubitMagnetisation_MatchesBetaHw_AndControlErrorsMoveIt()
    {
        // E = h s, P(s) ∝ exp(-β h s)  ⇒  <s> = -tanh(β h). β_hw = 16, h = 0.05: <s> = -tanh(0.8) = -0.664.
        await using var hx = await SimulatorHarness.StartAsync(betaHw: 16, sweeps: 50);
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        var p = new QpuProblem("ising", new Dictionary<int, double> { [35] = 0.05 }, new Dictionary<(int, int), double>());
        var r = await c.SampleAsync(s, p, new QpuParameters { NumReads = 4000, AutoScale = false }, Deadline);
        double m = r.Samples.Means()[0];
        // Standard error of a ±1 mean over 4000 reads ≤ 0.016; 4 SE tolerance. A sampler at β = 1 or with the sign
        // flipped fails this.
        Assert.InRange(m, -Math.Tanh(0.8) - 0.06, -Math.Tanh(0.8) + 0.06);
    }

    [Fact]
    public async Task WrongToken_IsAuthentication_AndNeverEchoesTheToken()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client(token: "DEV-wrongtoken-987654321");
        var e = await Assert.ThrowsAsync<SapiException>(() => c.ListSolversAsync());
        Assert.Equal(SapiErrorKind.Authentication, e.Kind);
        Assert.Equal(401, e.StatusCode);
        Assert.DoesNotContain("987654321", e.ToString());
        Assert.DoesNotContain("987654321", string.Join("\n", hx.ClientLog));
    }

    [Fact]
    public async Task ValidationFailure_SendsNothing()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        var p = new QpuProblem("ising", new Dictionary<int, double> { [30] = 0 }, new Dictionary<(int, int), double> { [(30, 45)] = 1 });
        await Assert.ThrowsAsync<SapiValidationException>(() => c.SubmitAsync(s, p, new QpuParameters()));
        await Assert.ThrowsAsync<SapiValidationException>(() => c.SubmitAsync(s, Chain(s), new QpuParameters { NumReads = 20000 }));
        Assert.Equal(0, hx.Sim.ProblemCount);
    }

    /// <summary>
    /// A call's label reaches the job (the structured sampler puts a call's own label over the configured one), and
    /// listing by label finds exactly the problems with that label, not those whose label only contains it.
    /// </summary>
    [Fact]
    public async Task Problems_are_listed_by_their_exact_label()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        var structured = new QaActors.DWave.Structured.SapiStructuredSampler(c, s, new QaActors.DWave.Structured.SapiCallOptions { Label = "configured" });
        await structured.SampleAsync(Chain(s), new QpuParameters { NumReads = 3, Label = "qaactors-reservation-1-100" });
        await structured.SampleAsync(Chain(s), new QpuParameters { NumReads = 3, Label = "qaactors-reservation-1-100" });
        await structured.SampleAsync(Chain(s), new QpuParameters { NumReads = 3, Label = "qaactors-reservation-11-100" });
        await structured.SampleAsync(Chain(s), new QpuParameters { NumReads = 3 });
        Assert.Equal(2, (await structured.ProblemsLabelledAsync("qaactors-reservation-1-100")).Count);
        Assert.Single(await structured.ProblemsLabelledAsync("qaactors-reservation-11-100"));
        Assert.Single(await c.ListProblemsAsync("configured"));
        Assert.Empty(await c.ListProblemsAsync("qaactors-reservation-1"));
        // The label is a field of the job, never a solver parameter.
        Assert.False(new QpuParameters { Label = "x" }.ToJson().ContainsKey("label"));
    }

    [Fact]
    public async Task UnknownProblem_IsNotFound_AndStatusEndpointsWork()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var e = await Assert.ThrowsAsync<SapiException>(() => c.GetStatusAsync("no-such-problem"));
        Assert.Equal(SapiErrorKind.NotFound, e.Kind);
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        var st = await c.SubmitAsync(s, Chain(s), new QpuParameters { NumReads = 5 }, label: "lbl");
        var done = await c.WaitAsync(st.Id, Deadline);
        Assert.Equal("COMPLETED", done.Status);
        var full = await c.GetStatusAsync(st.Id);
        Assert.Equal("lbl", full.Raw["label"]!.GetValue<string>());
        Assert.NotNull(full.Answer);
        var ans = await c.GetAnswerAsync(st.Id, "ising");
        Assert.Equal(5, ans.NumOccurrences.Sum());
        Assert.Equal(CancelOutcome.AlreadyFinished, await c.CancelAsync(st.Id));
    }

    [Fact]
    public async Task Transient5xxOnGet_IsRetried_AndSucceeds()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        hx.Sim.Faults.Fail5xxNext(3, "GET");
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        Assert.Equal(SimulatorHarness.Solver, s.Name);
        Assert.Equal(3, hx.Retries("GET solvers/remote/"));
    }

    [Fact]
    public async Task Transient5xxOnSubmit_IsNotRetried_AndCreatesNoProblem()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        hx.Sim.Faults.Fail5xxNext(1, "POST");
        var e = await Assert.ThrowsAsync<SapiException>(() => c.SubmitAsync(s, Chain(s), new QpuParameters()));
        Assert.Equal(SapiErrorKind.Transient, e.Kind);
        Assert.Equal(503, e.StatusCode);
        Assert.Contains("not retried", e.Message);
        Assert.Equal(0, hx.Retries("POST"));
        Assert.Equal(0, hx.Sim.ProblemCount);
    }

    [Fact]
    public async Task RateLimit_RetryAfterIsHonoured_OnGetAndOnSubmit()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        hx.Sim.Faults.RateLimitNext(1, TimeSpan.FromSeconds(1), "GET");
        var sw = Stopwatch.StartNew();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(950), $"retried after {sw.ElapsedMilliseconds} ms, Retry-After was 1 s");
        // A 429 on a submit is a refusal: retried after Retry-After, and exactly one problem exists.
        hx.Sim.Faults.RateLimitNext(1, TimeSpan.FromSeconds(1), "POST");
        sw.Restart();
        var st = await c.SubmitAsync(s, Chain(s), new QpuParameters());
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(950));
        Assert.Equal(1, hx.Sim.ProblemCount);
        await c.WaitAsync(st.Id, Deadline);
    }

    [Fact]
    public async Task RateLimit_WithRetryAfterBeyondPolicy_IsTypedImmediately()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        hx.Sim.Faults.RateLimitNext(1, TimeSpan.FromSeconds(30));
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<SapiException>(() => c.ListSolversAsync());
        Assert.Equal(SapiErrorKind.RateLimited, e.Kind);
        Assert.Equal(TimeSpan.FromSeconds(30), e.RetryAfter);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
        // And with submit retries switched off, a 429 on POST surfaces at once.
        using var strict = hx.Client(retrySubmitOn429: false);
        var s = await strict.GetSolverAsync(SimulatorHarness.Solver);
        hx.Sim.Faults.RateLimitNext(1, TimeSpan.FromSeconds(1), "POST");
        var e2 = await Assert.ThrowsAsync<SapiException>(() => strict.SubmitAsync(s, Chain(s), new QpuParameters()));
        Assert.Equal(SapiErrorKind.RateLimited, e2.Kind);
        Assert.Equal(0, hx.Sim.ProblemCount);
    }

    [Fact]
    public async Task Outage503_LongerThanRetryBudget_FailsTyped_WithinTheBudget()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client(retry: SimulatorHarness.Fast with { MaxElapsed = TimeSpan.FromSeconds(1) });
        hx.Sim.Faults.SetOutage(OutageMode.Http503, TimeSpan.FromSeconds(30));
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<SapiException>(() => c.ListSolversAsync());
        Assert.Equal(SapiErrorKind.Transient, e.Kind);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"took {sw.Elapsed}");
        hx.Sim.Faults.ClearOutage();
        Assert.NotEmpty(await c.ListSolversAsync());
    }

    [Fact]
    public async Task RefuseOutage_ClosesTheListener_GetAndSubmitAreRetriedBecauseNothingWasSent()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client(retry: SimulatorHarness.Fast with { MaxAttempts = 50, MaxElapsed = TimeSpan.FromSeconds(8) });
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        int port = hx.Sim.Port;
        hx.Sim.Faults.SetOutage(OutageMode.Refuse, TimeSpan.FromSeconds(2.5));
        await WaitUntilRefused(port);
        // A submit during the outage on a fresh client (no pooled keep-alive connection from before the outage):
        // connection refused means no byte reached the server, so it is retried.
        using var fresh = hx.Client(retry: SimulatorHarness.Fast with { MaxAttempts = 50, MaxElapsed = TimeSpan.FromSeconds(8) });
        var st = await fresh.SubmitAsync(s, Chain(s), new QpuParameters());
        Assert.True(hx.Retries("POST problems/") >= 1);
        Assert.Equal(port, hx.Sim.Port);
        Assert.Equal(1, hx.Sim.ProblemCount);
        Assert.Equal("COMPLETED", (await c.WaitAsync(st.Id, Deadline)).Status);

        // With a short budget the refusal surfaces as Transient with NotSent.
        using var quick = hx.Client(retry: SimulatorHarness.Fast with { MaxElapsed = TimeSpan.FromMilliseconds(300) });
        hx.Sim.Faults.SetOutage(OutageMode.Refuse, TimeSpan.FromSeconds(1.5));
        await WaitUntilRefused(port);
        var e = await Assert.ThrowsAsync<SapiException>(() => quick.ListSolversAsync());
        Assert.Equal(SapiErrorKind.Transient, e.Kind);
        Assert.True(e.NotSent);
        Assert.Contains("connection refused", e.Message);
    }

    private static async Task WaitUntilRefused(int port)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(5))
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            try { await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port); }
            catch (System.Net.Sockets.SocketException) { return; }
            await Task.Delay(10);
        }
        Assert.Fail($"port {port} still accepts connections 5 s into a refuse outage");
    }

    [Fact]
    public async Task OutageDuringWait_IsWaitedOut_AndTheAnswerArrives()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        hx.Sim.Faults.AnswerDelay = TimeSpan.FromMilliseconds(800);
        var st = await c.SubmitAsync(s, Chain(s), new QpuParameters { NumReads = 5 });
        hx.Sim.Faults.SetOutage(OutageMode.Http503, TimeSpan.FromSeconds(1.2));
        var done = await c.WaitAsync(st.Id, Deadline);
        Assert.Equal("COMPLETED", done.Status);
    }

    [Fact]
    public async Task OfflineSolver_IsRefusedClientSide_AndInFlightProblemsFailAsOffline()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        hx.Sim.Faults.AnswerDelay = TimeSpan.FromSeconds(5);
        var st = await c.SubmitAsync(s, Chain(s), new QpuParameters());
        hx.Sim.Faults.SetSolverOffline(SimulatorHarness.Solver, true);
        var e = await Assert.ThrowsAsync<SapiException>(() => c.WaitAsync(st.Id, Deadline));
        Assert.Equal(SapiErrorKind.SolverOffline, e.Kind);
        Assert.Equal(st.Id, e.ProblemId);
        var off = await c.GetSolverAsync(SimulatorHarness.Solver);
        Assert.Equal("OFFLINE", off.Status);
        var e2 = await Assert.ThrowsAsync<SapiException>(() => c.SubmitAsync(off, Chain(off), new QpuParameters()));
        Assert.Equal(SapiErrorKind.SolverOffline, e2.Kind);
        // A client holding a stale ONLINE description still gets the typed error from the server's FAILED status.
        var e3 = await Assert.ThrowsAsync<SapiException>(() => c.SubmitAsync(s, Chain(s), new QpuParameters()));
        Assert.Equal(SapiErrorKind.SolverOffline, e3.Kind);
    }

    /// <summary>
    /// The simulator runs the problem (and charges it), then drops every request about it: the call fails in doubt,
    /// naming the accepted problem, and a later look finds exactly the access time the simulator charged.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LostAnswer_IsInDoubt_AndALaterLookFindsTheAccessTimeCharged(bool drop)
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client(retry: new SapiRetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(10), MaxElapsed = TimeSpan.FromMilliseconds(300) });
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        hx.Sim.Faults.LoseNextAnswers(1, TimeSpan.FromSeconds(2), drop);
        var e = await Assert.ThrowsAsync<SapiException>(() => c.SampleAsync(s, Chain(s), new QpuParameters(), TimeSpan.FromSeconds(1)));
        Assert.True(e.InDoubt, e.Message);
        Assert.False(e.ProblemEnded);
        Assert.NotNull(e.ProblemId);
        Assert.Contains("was accepted", e.Message);
        var charged = hx.Sim.Usage(SimulatorHarness.Token);
        Assert.Equal(1, charged.ProblemsCompleted);
        // While hidden the look fails as the call did; afterwards it finds the answer.
        await Assert.ThrowsAsync<SapiException>(() => c.AccessTimeOfAsync(e.ProblemId!));
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        Assert.Equal(charged.QpuAccessTimeMicroseconds, await c.AccessTimeOfAsync(e.ProblemId!));
    }

    [Fact]
    public async Task A_problem_that_failed_is_not_in_doubt_and_is_looked_up_as_zero()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        hx.Sim.Faults.FailNextProblems(1, "Simulated calibration fault");
        var e = await Assert.ThrowsAsync<SapiException>(() => c.SampleAsync(s, Chain(s), new QpuParameters(), Deadline));
        Assert.False(e.InDoubt);
        Assert.True(e.ProblemEnded);
        Assert.Equal(0, await c.AccessTimeOfAsync(e.ProblemId!));
    }

    [Fact]
    public async Task FailedProblem_IsProblemFailed_WithSapisMessage()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        hx.Sim.Faults.FailNextProblems(1, "Simulated calibration fault");
        var e = await Assert.ThrowsAsync<SapiException>(() => c.SampleAsync(s, Chain(s), new QpuParameters(), Deadline));
        Assert.Equal(SapiErrorKind.ProblemFailed, e.Kind);
        Assert.Contains("Simulated calibration fault", e.Message);
        Assert.NotNull(e.ProblemId);
    }

    [Fact]
    public async Task SlowAnswer_HitsTheDeadline_TypedAndCancelledOnTheServer()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        hx.Sim.Faults.AnswerDelay = TimeSpan.FromSeconds(30);
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<SapiException>(() => c.SampleAsync(s, Chain(s), new QpuParameters(), TimeSpan.FromSeconds(1.5)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(4), $"took {sw.Elapsed}");
        Assert.Equal(SapiErrorKind.Transient, e.Kind);
        Assert.Contains("did not finish", e.Message);
        // The abandoned problem was cancelled, so it will not be charged.
        var st = await c.GetStatusAsync(e.ProblemId!);
        Assert.Equal("CANCELLED", st.Status);
        Assert.Equal(0, hx.Sim.Usage(SimulatorHarness.Token).ProblemsCompleted);
    }

    [Fact]
    public async Task CallerCancellation_IsCancelled_NotAHang()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var c = hx.Client();
        var s = await c.GetSolverAsync(SimulatorHarness.Solver);
        hx.Sim.Faults.AnswerDelay = TimeSpan.FromSeconds(30);
        var st = await c.SubmitAsync(s, Chain(s), new QpuParameters());
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var e = await Assert.ThrowsAsync<SapiException>(() => c.WaitAsync(st.Id, Deadline, cts.Token));
        Assert.Equal(SapiErrorKind.Cancelled, e.Kind);
        Assert.Equal(CancelOutcome.CancelRequested, await c.CancelAsync(st.Id));
        var e2 = await Assert.ThrowsAsync<SapiException>(() => c.WaitAsync(st.Id, Deadline));
        Assert.Equal(SapiErrorKind.Cancelled, e2.Kind);
    }

    [Fact]
    public async Task ServerRejectsWrongAcceptVersion_AndUnknownParameters()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var http = new HttpClient();
        using var req = new HttpRequestMessage(HttpMethod.Get, new Uri(hx.Sim.SapiEndpoint, "solvers/remote/"));
        req.Headers.Add("X-Auth-Token", SimulatorHarness.Token);
        req.Headers.TryAddWithoutValidation("Accept", "application/vnd.dwave.sapi.solver-definition-list+json; version=2.0.0");
        var resp = await http.SendAsync(req);
        Assert.Equal(415, (int)resp.StatusCode);
        using var req2 = new HttpRequestMessage(HttpMethod.Get, new Uri(hx.Sim.SapiEndpoint, "solvers/remote/"));
        req2.Headers.Add("X-Auth-Token", SimulatorHarness.Token);
        var resp2 = await http.SendAsync(req2);
        Assert.True(resp2.Headers.Contains("X-Deprecation"));
        // A submission the client would have refused, sent raw: the server answers per item with error_code 400.
        using var req3 = new HttpRequestMessage(HttpMethod.Post, new Uri(hx.Sim.SapiEndpoint, "problems/"));
        req3.Headers.Add("X-Auth-Token", SimulatorHarness.Token);
        string json = "[{\"solver\":{\"name\":\"" + SimulatorHarness.Solver + "\"},\"type\":\"ising\",\"data\":{\"format\":\"qp\",\"lin\":\"\",\"quad\":\"\"},\"params\":{\"bogus\":1}}]";
        req3.Content = new StringContent(json,
            new MediaTypeHeaderValue("application/json"));
        var body = await (await http.SendAsync(req3)).Content.ReadAsStringAsync();
        Assert.Contains("\"error_code\":400", body);
    }
}
