using Akka.Actor;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

public class GatewayTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly ITestOutputHelper _out;

    public GatewayTests(ITestOutputHelper output) : base(TestConfig.WithTestJournal(), output: output) => _out = output;

    private IActorRef Ledger(QuotaSettings q, string id = "ledger-1") =>
        Sys.ActorOf(QuotaLedgerActor.Props(q, id));

    private IActorRef Gateway(IQpuBackend qpu, IActorRef ledger, GatewaySettings gs, QuotaSettings qs, TimeProvider? clock = null, IActorRef? users = null)
    {
        var fallbacks = new Dictionary<string, IActorRef>
        {
            [Fallbacks.Gibbs] = Sys.ActorOf(SamplerWorker.Pool(_ => new SeededRandomSampler("gibbs"), 2)),
            [Fallbacks.Anneal] = Sys.ActorOf(SamplerWorker.Pool(_ => new SeededRandomSampler("anneal"), 2)),
        };
        return Sys.ActorOf(QpuGatewayActor.Props(qpu, ledger, fallbacks, gs, qs, clock, users));
    }

    [Fact]
    public void Never_more_requests_in_flight_than_configured()
    {
        var qpu = new FakeQpu(TimeProvider.System) { Delay = TimeSpan.FromMilliseconds(4) };
        var qs = TestConfig.Quotas();
        var gw = Gateway(qpu, Ledger(qs), TestConfig.Gateway(maxInFlight: 3), qs);
        const int n = 60;
        for (int i = 0; i < n; i++) gw.Tell(FakeQpu.Job(i % 2 == 0 ? "a" : "b", salt: (ulong)i));
        var replies = ReceiveN(n, TimeSpan.FromSeconds(30)).Cast<SampleReply>().ToList();
        Assert.All(replies, r => Assert.Equal("qpu", r.ServedBy));
        Assert.Equal(n, qpu.Calls);
        // The limit is reached (so the gateway does overlap calls) and never exceeded.
        Assert.Equal(3, qpu.MaxConcurrent);
    }

    [Fact]
    public void Rate_limit_holds_under_a_burst_of_1000_requests()
    {
        var clock = new ManualClock();
        var qpu = new FakeQpu(clock);
        var qs = TestConfig.Quotas();
        const double rate = 100; // tokens per (virtual) second
        const int burst = 20;
        var gw = Gateway(qpu, Ledger(qs), TestConfig.Gateway(maxInFlight: 8, rate: rate, burst: burst), qs, clock);
        const int n = 1000;
        for (int i = 0; i < n; i++) gw.Tell(FakeQpu.Job("a", salt: (ulong)i));

        // Virtual time moves in 100 ms steps; after each, the gateway must catch up to exactly what the
        // bucket allows (so it is not slower than the limit), and never more (checked below).
        var start = clock.GetUtcNow();
        AwaitCondition(() => qpu.Calls >= burst, TimeSpan.FromSeconds(10));
        Assert.Equal(burst, qpu.Calls);
        int steps = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (qpu.Calls < n)
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
            steps++;
            double t = (clock.GetUtcNow() - start).TotalSeconds;
            int allowed = (int)Math.Min(n, Math.Floor(burst + rate * t + 1e-9));
            AwaitCondition(() => qpu.Calls >= allowed, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(2));
            Assert.True(qpu.Calls <= allowed, $"{qpu.Calls} submissions by t={t}s, bucket allows {allowed}");
        }
        _out.WriteLine($"stepping took {sw.ElapsedMilliseconds} ms");
        ReceiveN(n, TimeSpan.FromSeconds(30));
        _out.WriteLine($"receive took {sw.ElapsedMilliseconds} ms");

        // Token accounting over every window: at most burst + rate·(t_j - t_i) submissions in [t_i, t_j].
        var times = qpu.Submissions.Select(s => (s.At - start).TotalSeconds).ToArray();
        Assert.Equal(n, times.Length);
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
                Assert.True(j - i + 1 <= burst + rate * (times[j] - times[i]) + 1e-6,
                    $"{j - i + 1} submissions between t={times[i]} and t={times[j]}");
        _out.WriteLine($"check took {sw.ElapsedMilliseconds} ms");
        _out.WriteLine($"{n} submissions over {times[^1]:F2} virtual s in {steps} clock steps");
    }

    [Fact]
    public void Two_users_with_equal_weights_get_equal_qpu_time()
    {
        var qpu = new FakeQpu(TimeProvider.System)
        {
            Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously),
            // Deliberately unequal job costs and a wrong estimate: fair share must follow the charged
            // time, not the number of jobs (round robin would give "a" a quarter).
            CostOf = u => u == "a" ? 1000 : 3000,
            Estimate = 2000,
        };
        var qs = TestConfig.Quotas();
        var gw = Gateway(qpu, Ledger(qs), TestConfig.Gateway(maxInFlight: 1), qs);
        const int perUser = 60;
        for (int i = 0; i < perUser; i++) { gw.Tell(FakeQpu.Job("a", salt: (ulong)i)); gw.Tell(FakeQpu.Job("b", salt: (ulong)i)); }
        AwaitCondition(() => qpu.Calls == 1);
        qpu.Gate.SetResult();
        ReceiveN(2 * perUser, TimeSpan.FromSeconds(30));

        var order = qpu.Submissions.ToArray();
        // The window where both users had waiting work: up to the submission of a's last job.
        int lastA = Array.FindLastIndex(order, s => s.User == "a");
        var window = order[..(lastA + 1)];
        double a = window.Where(s => s.User == "a").Sum(s => s.Cost);
        double b = window.Where(s => s.User == "b").Sum(s => s.Cost);
        double share = a / (a + b);
        _out.WriteLine($"a: {a} µs, b: {b} µs, share of a {share:P1} over {window.Length} submissions");
        Assert.InRange(share, 0.40, 0.60);
        Assert.InRange(b / (a + b), 0.40, 0.60);
    }

    [Fact]
    public async Task The_status_counts_queued_problems_per_user()
    {
        var qpu = new FakeQpu(TimeProvider.System) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var qs = TestConfig.Quotas();
        var gw = Gateway(qpu, Ledger(qs), TestConfig.Gateway(maxInFlight: 1), qs);
        for (int i = 0; i < 5; i++) gw.Tell(FakeQpu.Job("a", salt: (ulong)i));
        for (int i = 0; i < 3; i++) gw.Tell(FakeQpu.Job("b", salt: (ulong)(10 + i)));
        AwaitCondition(() => qpu.Calls == 1);
        // One of a's problems is on the QPU (held by the gate); the rest wait, each user's counted on its own.
        var st = await gw.Ask<GatewayStatus>(GetGatewayStatus.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(1, st.InFlight);
        Assert.Equal(7, st.Queued);
        Assert.Equal([("a", 4), ("b", 3)], st.Users!.Select(u => (u.User, u.Queued)));
        qpu.Gate.SetResult();
        ReceiveN(8, TimeSpan.FromSeconds(30));
        st = await gw.Ask<GatewayStatus>(GetGatewayStatus.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(0, st.Queued);
        Assert.All(st.Users!, u => Assert.Equal(0, u.Queued));
        Assert.Equal(8, st.Submitted);
    }

    [Fact]
    public void Weights_set_the_shares_of_qpu_time()
    {
        var qpu = new FakeQpu(TimeProvider.System) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var qs = new Configuration.QuotaSettings(1000, 1.0, new Dictionary<string, double> { ["a"] = 2.0 }, new Dictionary<string, double>());
        var gw = Gateway(qpu, Ledger(qs), TestConfig.Gateway(maxInFlight: 1), qs);
        for (int i = 0; i < 60; i++) { gw.Tell(FakeQpu.Job("a", salt: (ulong)i)); gw.Tell(FakeQpu.Job("b", salt: (ulong)i)); }
        AwaitCondition(() => qpu.Calls == 1);
        qpu.Gate.SetResult();
        ReceiveN(120, TimeSpan.FromSeconds(30));
        var order = qpu.Submissions.ToArray();
        var window = order[..(Array.FindLastIndex(order, s => s.User == "a") + 1)];
        double share = window.Where(s => s.User == "a").Sum(s => s.Cost) / window.Sum(s => s.Cost);
        _out.WriteLine($"weight-2 user's share {share:P1} over {window.Length} submissions");
        Assert.InRange(share, 2.0 / 3 - 0.1, 2.0 / 3 + 0.1);
    }

    /// <summary>
    /// The registry's weight (`qa user add a --weight 3`) drives the queue and wins over the configured one (a = 1 in
    /// qa.quotas.weights); b, whom the registry does not know, keeps its configured weight 1.
    /// </summary>
    [Fact]
    public async Task Weights_from_the_user_registry_set_the_shares_and_win_over_configuration()
    {
        var users = Sys.ActorOf(QaActors.Orchestration.Users.UserRegistryActor.Props("users-weights"));
        var added = await QaActors.Orchestration.Users.UserRegistryClient.AddUserAsync(users, "a", admin: false, weight: 3, TimeSpan.FromSeconds(10));
        Assert.Null(added.Rejected);
        var qpu = new FakeQpu(TimeProvider.System) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var qs = new QuotaSettings(1000, 1.0, new Dictionary<string, double> { ["a"] = 1.0 }, new Dictionary<string, double>());
        var gw = Gateway(qpu, Ledger(qs), TestConfig.Gateway(maxInFlight: 1), qs, users: users);
        // The gateway reads the registry at start: its state shows the weight it applies.
        await AwaitAssertAsync(async () =>
        {
            var st = await gw.Ask<GatewayStatus>(GetGatewayStatus.Instance, TimeSpan.FromSeconds(5));
            Assert.Equal(3.0, Assert.Single(st.Users!, u => u.User == "a").Weight);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        for (int i = 0; i < 80; i++) { gw.Tell(FakeQpu.Job("a", salt: (ulong)i)); gw.Tell(FakeQpu.Job("b", salt: (ulong)i)); }
        var status = await gw.Ask<GatewayStatus>(GetGatewayStatus.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(1.0, status.Users!.Single(u => u.User == "b").Weight);
        Assert.True(status.Users!.Single(u => u.User == "b").Queued > 0, "b's problems wait in its queue");
        qpu.Gate.SetResult();
        ReceiveN(2 * 80, TimeSpan.FromSeconds(30));
        var order = qpu.Submissions.ToArray();
        var window = order[..(Array.FindLastIndex(order, s => s.User == "a") + 1)];
        double share = window.Where(s => s.User == "a").Sum(s => s.Cost) / window.Sum(s => s.Cost);
        _out.WriteLine($"registry weight-3 user's share {share:P1} over {window.Length} submissions");
        Assert.InRange(share, 0.75 - 0.1, 0.75 + 0.1);
    }

    [Fact]
    public async Task Quota_is_never_exceeded_also_after_the_ledger_is_recreated()
    {
        var rnd = new Random(7);
        var qpu = new FakeQpu(TimeProvider.System) { Estimate = 1000, CostOf = _ => 600 + rnd.Next(0, 650) };
        var qs = TestConfig.Quotas(defaultSeconds: 0.02, reserveFactor: 1.25); // 20 ms of QPU time
        var ledger = Ledger(qs, "ledger-quota");
        var gw = Gateway(qpu, ledger, TestConfig.Gateway(maxInFlight: 2), qs);
        for (int i = 0; i < 40; i++) gw.Tell(FakeQpu.Job("a", Fallbacks.None, salt: (ulong)i));
        var replies = ReceiveN(40, TimeSpan.FromSeconds(20));
        var served = replies.OfType<SampleReply>().ToList();
        var refused = replies.OfType<SampleRefused>().ToList();
        Assert.NotEmpty(served);
        Assert.NotEmpty(refused);
        Assert.Contains("quota", refused[0].Reason);
        Assert.Contains("'a'", refused[0].Reason);
        double charged = served.Sum(s => s.QpuAccessMicros);
        Assert.True(charged <= 20_000, $"charged {charged} µs of 20000");

        var before = await ledger.Ask<QuotaReport>(new GetQuota("a"), TimeSpan.FromSeconds(5));
        Assert.Equal(charged / 1e6, before.Accounts[0].ChargedSeconds, 9);

        // A new incarnation recovers the same account from the journal and keeps refusing.
        Watch(ledger);
        Sys.Stop(ledger);
        ExpectTerminated(ledger);
        var ledger2 = Ledger(qs, "ledger-quota");
        var after = await ledger2.Ask<QuotaReport>(new GetQuota("a"), TimeSpan.FromSeconds(5));
        Assert.Equal(before.Accounts[0].ChargedSeconds, after.Accounts[0].ChargedSeconds, 12);
        var gw2 = Gateway(qpu, ledger2, TestConfig.Gateway(), qs);
        int callsBefore = qpu.Calls;
        gw2.Tell(FakeQpu.Job("a", Fallbacks.None));
        ExpectMsg<SampleRefused>(TimeSpan.FromSeconds(5));
        // With a fallback the same request is served classically and says why.
        gw2.Tell(FakeQpu.Job("a", Fallbacks.Anneal));
        var fb = ExpectMsg<SampleReply>(TimeSpan.FromSeconds(5));
        Assert.Equal("anneal", fb.ServedBy);
        Assert.Equal(FallbackReasons.Quota, fb.FallbackReason);
        Assert.Equal(callsBefore, qpu.Calls);

        // Raising the quota lets the user in again.
        await ledger2.Ask<QuotaReport>(new SetQuota("a", 1.0), TimeSpan.FromSeconds(5));
        gw2.Tell(FakeQpu.Job("a", Fallbacks.None));
        Assert.Equal("qpu", ExpectMsg<SampleReply>(TimeSpan.FromSeconds(5)).ServedBy);
    }

    [Fact]
    public async Task Reservations_in_doubt_at_a_crash_are_charged_on_recovery()
    {
        var qs = TestConfig.Quotas(defaultSeconds: 1);
        var ledger = Ledger(qs, "ledger-doubt");
        var r = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("c", 250_000), TimeSpan.FromSeconds(5));
        Assert.Equal(250_000, r.Micros);
        Watch(ledger);
        Sys.Stop(ledger);
        ExpectTerminated(ledger);
        var again = Ledger(qs, "ledger-doubt");
        var rep = await again.Ask<QuotaReport>(new GetQuota("c"), TimeSpan.FromSeconds(5));
        Assert.Equal(0.25, rep.Accounts[0].ChargedSeconds, 12);
        Assert.Equal(0, rep.Accounts[0].ReservedSeconds);
        // A late real charge for the orphaned reservation (its gateway outlived the ledger) replaces it, once.
        await again.Ask<Status.Success>(new ChargeQuota("c", r.ReservationId, 100_000), TimeSpan.FromSeconds(5));
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            again.Ask<object>(new ChargeQuota("c", r.ReservationId, 100_000), TimeSpan.FromSeconds(5)));
        rep = await again.Ask<QuotaReport>(new GetQuota("c"), TimeSpan.FromSeconds(5));
        Assert.Equal(0.1, rep.Accounts[0].ChargedSeconds, 12);
    }

    [Fact]
    public void Breaker_opens_on_faults_falls_back_and_closes_when_recovered()
    {
        var qpu = new FakeQpu(TimeProvider.System) { Failing = true };
        var qs = TestConfig.Quotas();
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events, typeof(BreakerStateChanged));
        var gw = Gateway(qpu, Ledger(qs), TestConfig.Gateway(maxFailures: 3, resetMs: 300), qs);

        for (int i = 0; i < 3; i++)
        {
            gw.Tell(FakeQpu.Job("a", Fallbacks.Gibbs, salt: (ulong)i));
            var r = ExpectMsg<SampleReply>(TimeSpan.FromSeconds(5));
            Assert.Equal("gibbs", r.ServedBy);
            Assert.StartsWith(FallbackReasons.QpuError, r.FallbackReason);
        }
        Assert.Equal(BreakerState.Open, events.ExpectMsg<BreakerStateChanged>(TimeSpan.FromSeconds(5)).State);
        // Open: served by the fallback without touching the QPU.
        gw.Tell(FakeQpu.Job("a", Fallbacks.Anneal, salt: 9));
        var open = ExpectMsg<SampleReply>(TimeSpan.FromSeconds(5));
        Assert.Equal("anneal", open.ServedBy);
        Assert.Equal(FallbackReasons.BreakerOpen, open.FallbackReason);
        Assert.Equal(3, qpu.Calls);

        // Failed probe after the reset timeout: open again.
        Assert.Equal(BreakerState.HalfOpen, events.ExpectMsg<BreakerStateChanged>(TimeSpan.FromSeconds(5)).State);
        gw.Tell(FakeQpu.Job("a", Fallbacks.Gibbs, salt: 10));
        Assert.Equal("gibbs", ExpectMsg<SampleReply>(TimeSpan.FromSeconds(5)).ServedBy);
        Assert.Equal(BreakerState.Open, events.ExpectMsg<BreakerStateChanged>(TimeSpan.FromSeconds(5)).State);

        // The QPU recovers: the next probe succeeds and closes the breaker.
        qpu.Failing = false;
        Assert.Equal(BreakerState.HalfOpen, events.ExpectMsg<BreakerStateChanged>(TimeSpan.FromSeconds(5)).State);
        gw.Tell(FakeQpu.Job("a", Fallbacks.Gibbs, salt: 11));
        var ok = ExpectMsg<SampleReply>(TimeSpan.FromSeconds(5));
        Assert.Equal("qpu", ok.ServedBy);
        Assert.Null(ok.FallbackReason);
        Assert.Equal(BreakerState.Closed, events.ExpectMsg<BreakerStateChanged>(TimeSpan.FromSeconds(5)).State);
    }

    [Fact]
    public void Fallback_none_waits_with_backoff_until_the_qpu_is_back()
    {
        var qpu = new FakeQpu(TimeProvider.System) { Failing = true };
        var qs = TestConfig.Quotas();
        var gw = Gateway(qpu, Ledger(qs), TestConfig.Gateway(maxFailures: 2, resetMs: 100, retryMinMs: 10, retryMaxMs: 50), qs);
        gw.Tell(FakeQpu.Job("a", Fallbacks.None));
        // Retried (however slow the machine), never answered by a fallback while the QPU fails...
        AwaitCondition(() => qpu.Calls >= 2, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(10));
        ExpectNoMsg(TimeSpan.FromMilliseconds(400));
        // ...and with backoff, not in a hot loop (a load can only lower this count).
        Assert.InRange(qpu.Calls, 2, 20);
        qpu.Failing = false;
        var r = ExpectMsg<SampleReply>(TimeSpan.FromSeconds(5));
        Assert.Equal("qpu", r.ServedBy);
        Assert.Null(r.FallbackReason);
    }

    [Fact]
    public void Request_with_a_near_deadline_is_served_by_the_fallback()
    {
        var qpu = new FakeQpu(TimeProvider.System) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var qs = TestConfig.Quotas();
        var gw = Gateway(qpu, Ledger(qs), TestConfig.Gateway(deadlineMarginMs: 200), qs);
        gw.Tell(FakeQpu.Job("a", Fallbacks.Gibbs, salt: 1)); // occupies the QPU (gate closed)
        AwaitCondition(() => qpu.Calls == 1);
        gw.Tell(FakeQpu.Job("b", Fallbacks.Gibbs, DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(500)));
        var r = ExpectMsg<SampleReply>(TimeSpan.FromSeconds(3));
        Assert.Equal("gibbs", r.ServedBy);
        Assert.Equal(FallbackReasons.Deadline, r.FallbackReason);
        qpu.Gate.SetResult();
        Assert.Equal("qpu", ExpectMsg<SampleReply>(TimeSpan.FromSeconds(3)).ServedBy);
    }
}
