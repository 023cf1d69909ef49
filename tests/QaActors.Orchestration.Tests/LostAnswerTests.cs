using System.Collections.Immutable;
using Akka.Actor;
using QaActors.DWave.Config;
using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Persistence;
using QaActors.Sampling;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// The simulator over HTTP, a SAPI client with few retries, the QPU sampler, a quota ledger and gateways on it: the
/// rig of the lost-answer and take-over tests. <see cref="NewGateway"/> starts a gateway with the given call timeout.
/// </summary>
internal sealed record Rig(SapiSimulator Sim, SapiClient Client, QpuSampler Sampler, IActorRef Ledger, IActorRef Gateway,
    Func<TimeSpan, IActorRef> NewGateway) : IAsyncDisposable
{
    public static async Task<Rig> StartAsync(ActorSystem sys, string token, string ledgerId, TimeSpan giveUpAfter, TimeSpan callDeadline, bool startGateway)
    {
        var sim = await SapiSimulator.StartAsync(new SapiSimulatorOptions
        {
            Tokens = [token],
            Solvers = [SimulatedSolverSpec.AdvantageLike("Sim_P4", LatticeGraphSource.Instance.Build("pegasus", [4]))],
            Sampler = new AnnealSampler(new AnnealOptions(Sweeps: 30)),
        });
        var client = new SapiClient(new SapiClientOptions
        {
            Endpoint = sim.SapiEndpoint,
            Token = new SecretToken(token),
            RequestTimeout = TimeSpan.FromSeconds(2),
            Retry = new SapiRetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(20), MaxElapsed = TimeSpan.FromMilliseconds(500) },
            LongPollSeconds = 1,
        });
        var sampler = await QpuSampler.CreateAsync(client, "Sim_P4",
            new QpuSamplerOptions { Call = new QaActors.DWave.Structured.SapiCallOptions { Deadline = callDeadline } });
        // As shipped: a reservation is the estimate × 1.25, so a charged reservation shows above the real use.
        var qs = TestConfig.Quotas(defaultSeconds: 100, reserveFactor: 1.25);
        var ledger = sys.ActorOf(QuotaLedgerActor.Props(qs, ledgerId));
        var pools = new Dictionary<string, IActorRef> { ["gibbs"] = sys.ActorOf(SamplerWorker.Pool(_ => new GibbsSampler(new GibbsOptions(Sweeps: 10)), 1)) };
        var gs = TestConfig.Gateway(maxFailures: 100) with
        {
            LostAnswerFirstLook = TimeSpan.FromMilliseconds(200),
            LostAnswerMaxBackoff = TimeSpan.FromMilliseconds(400),
            LostAnswerGiveUpAfter = giveUpAfter,
        };
        IActorRef NewGateway(TimeSpan callTimeout) => sys.ActorOf(QpuGatewayActor.Props(new QpuSamplerBackend(sampler), ledger, pools, gs with { CallTimeout = callTimeout }, qs));
        return new Rig(sim, client, sampler, ledger, startGateway ? NewGateway(gs.CallTimeout) : ActorRefs.Nobody, NewGateway);
    }

    public async ValueTask DisposeAsync()
    {
        Sampler.Dispose();
        Client.Dispose();
        await Sim.DisposeAsync();
    }
}

/// <summary>
/// Quota accounting when the QPU ran a problem but its answer could not be fetched: the simulator runs and charges
/// the problem, then drops every request about it for a while. The ledger must end where the simulator's own
/// account is (its total of access time actually run), and never below it on the way.
/// </summary>
public class LostAnswerTests : Akka.TestKit.Xunit2.TestKit
{
    private const string Token = "DEV-orchestration-lost-answer-0001";
    private readonly ITestOutputHelper _out;

    public LostAnswerTests(ITestOutputHelper output) : base(TestConfig.WithTestJournal(), output: output) => _out = output;

    private static readonly TimeSpan T = TimeSpan.FromSeconds(30);

    private Task<Rig> StartAsync(string ledgerId, TimeSpan giveUpAfter) =>
        // A short deadline: the client gives up on a hidden answer long before the simulator shows it again.
        Rig.StartAsync(Sys, Token, ledgerId, giveUpAfter, callDeadline: TimeSpan.FromSeconds(1), startGateway: true);

    private static readonly Bqm Problem = Bqm.FromArrays(Vartype.Spin, [0.1, -0.2, 0.3, 0.05], [0, 1, 2], [1, 2, 3], [-0.5, 0.25, 0.4], labels: [0, 1, 2, 3]);

    private static SampleJob Job(int i) => new(SampleJob.NextId(), "alice", "exp-lost", Problem, new SampleRequest(50, 1.0, (ulong)i), "gibbs", null);

    private async Task<QuotaAccount> Account(IActorRef ledger) => (await ledger.Ask<QuotaReport>(new GetQuota("alice"), T)).Accounts[0];

    /// <summary>Runs jobs one at a time; returns the replies (the lost ones come from the fallback).</summary>
    private List<SampleReply> RunJobs(IActorRef gw, int from, int count)
    {
        var replies = new List<SampleReply>();
        for (int i = from; i < from + count; i++)
        {
            gw.Tell(Job(i));
            replies.Add(ExpectMsg<SampleReply>(T));
        }
        return replies;
    }

    [Fact]
    public async Task A_problem_whose_answer_was_lost_is_charged_and_settled_to_what_the_simulator_ran()
    {
        await using var rig = await StartAsync("ledger-lost", giveUpAfter: TimeSpan.FromMinutes(5));
        var first = RunJobs(rig.Gateway, 0, 2);
        Assert.All(first, r => Assert.Equal("qpu", r.ServedBy));

        // The next two problems run and are charged by the simulator, then every request about them is dropped for 3 s.
        rig.Sim.Faults.LoseNextAnswers(2, TimeSpan.FromSeconds(3), dropConnection: true);
        var lost = RunJobs(rig.Gateway, 2, 2);
        Assert.All(lost, r => Assert.Equal("gibbs", r.ServedBy));
        Assert.All(lost, r => Assert.StartsWith(FallbackReasons.QpuError, r.FallbackReason));
        double simAfterLoss = rig.Sim.Usage(Token).QpuAccessTimeMicroseconds;
        Assert.Equal(4, rig.Sim.Usage(Token).ProblemsCompleted);
        // Right after the loss the ledger holds the two reservations as charged: more than the simulator ran, never less.
        var during = await Account(rig.Ledger);
        _out.WriteLine($"after the loss: simulator {simAfterLoss / 1e6:F6} s, charged {during.ChargedSeconds:F6} s, reserved {during.ReservedSeconds:F6} s");
        Assert.True(during.ChargedSeconds * 1e6 > simAfterLoss * 1.05, $"charged {during.ChargedSeconds} s does not hold the two reservations over the simulator's {simAfterLoss / 1e6} s");
        Assert.Equal(0, during.ReservedSeconds, 12);

        // More work meanwhile, served by the QPU as usual (the breaker never opened: 100 failures allowed).
        var later = RunJobs(rig.Gateway, 4, 2);
        Assert.All(later, r => Assert.Equal("qpu", r.ServedBy));

        // When the answers show again, the gateway's later look finds them and charges what they really used.
        double sim = 0;
        QuotaAccount acc = during;
        await AwaitAssertAsync(async () =>
        {
            sim = rig.Sim.Usage(Token).QpuAccessTimeMicroseconds;
            acc = await Account(rig.Ledger);
            Assert.True(acc.ChargedSeconds * 1e6 >= sim - 1e-6, $"charged {acc.ChargedSeconds} s is below the simulator's {sim / 1e6} s");
            Assert.Equal(sim / 1e6, acc.ChargedSeconds, 9);
        }, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200));
        _out.WriteLine($"settled: simulator {sim / 1e6:F6} s over {rig.Sim.Usage(Token).ProblemsCompleted} problems, charged {acc.ChargedSeconds:F6} s");
        Assert.Equal(6, rig.Sim.Usage(Token).ProblemsCompleted);
        var status = await rig.Gateway.Ask<GatewayStatus>(GetGatewayStatus.Instance, T);
        Assert.Equal(2, status.LostAnswers);
        // The QPU time the gateway counts for alice includes the lost answers' real use.
        Assert.Equal(sim, status.QpuMicrosByUser["alice"], 3);
    }

    [Fact]
    public async Task An_answer_that_never_shows_again_leaves_its_reservation_charged()
    {
        await using var rig = await StartAsync("ledger-lost-forever", giveUpAfter: TimeSpan.FromSeconds(1));
        RunJobs(rig.Gateway, 0, 1);
        rig.Sim.Faults.LoseNextAnswers(1, TimeSpan.FromHours(1), dropConnection: false);
        var lost = RunJobs(rig.Gateway, 1, 1);
        Assert.Equal("gibbs", lost[0].ServedBy);
        // Give the gateway time to look several times and give up.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var acc = await Account(rig.Ledger);
        double sim = rig.Sim.Usage(Token).QpuAccessTimeMicroseconds;
        _out.WriteLine($"never found: simulator {sim / 1e6:F6} s, charged {acc.ChargedSeconds:F6} s");
        Assert.Equal(2, rig.Sim.Usage(Token).ProblemsCompleted);
        // The reservation (estimate × 1.25) stays charged: above what the simulator ran, never below.
        Assert.True(acc.ChargedSeconds * 1e6 > sim * 1.05, $"charged {acc.ChargedSeconds} s, simulator {sim / 1e6} s");
        Assert.Equal(0, acc.ReservedSeconds, 12);
    }
}

/// <summary>
/// A gateway lost with a call open (its node died, or the singleton moved): the gateway that takes over adopts the
/// reservation, charged in full, and settles it to what the simulator ran once the call's problems, found by their
/// label, have ended and nothing more of the call can arrive.
/// </summary>
public class GatewayTakeOverTests : Akka.TestKit.Xunit2.TestKit
{
    private const string Token = "DEV-orchestration-take-over-0001";
    private readonly ITestOutputHelper _out;

    public GatewayTakeOverTests(ITestOutputHelper output) : base(TestConfig.WithTestJournal(), output: output) => _out = output;

    private static readonly TimeSpan T = TimeSpan.FromSeconds(30);
    private static readonly Bqm Problem = Bqm.FromArrays(Vartype.Spin, [0.1, -0.2, 0.3, 0.05], [0, 1, 2], [1, 2, 3], [-0.5, 0.25, 0.4], labels: [0, 1, 2, 3]);

    // A call waits long enough for the answer the simulator hides: it is still open when its gateway is stopped.
    private Task<Rig> StartAsync(string ledgerId) =>
        Rig.StartAsync(Sys, Token, ledgerId, giveUpAfter: TimeSpan.FromMinutes(5), callDeadline: TimeSpan.FromSeconds(20), startGateway: false);

    private static async Task<QuotaAccount> Account(IActorRef ledger) => (await ledger.Ask<QuotaReport>(new GetQuota("alice"), T)).Accounts[0];

    [Fact]
    public async Task The_next_gateway_settles_a_call_the_lost_one_left_open_to_what_the_simulator_ran()
    {
        await using var rig = await StartAsync("ledger-take-over");
        var (sim, ledger, newGateway) = (rig.Sim, rig.Ledger, rig.NewGateway);
        // One call served as usual, then one the simulator keeps running for 3 s: the first gateway is stopped once
        // that problem is accepted, so its call is open by construction (not by timing), as when its node dies; the
        // problem ends later, unheard.
        var first = newGateway(TimeSpan.FromMinutes(5));
        first.Tell(new SampleJob(SampleJob.NextId(), "alice", "exp-take-over", Problem, new SampleRequest(50, 1.0, 1), "gibbs", null));
        Assert.Equal("qpu", ExpectMsg<SampleReply>(T).ServedBy);
        sim.Faults.AnswerDelay = TimeSpan.FromSeconds(3);
        first.Tell(new SampleJob(SampleJob.NextId(), "alice", "exp-take-over", Problem, new SampleRequest(50, 1.0, 2), "gibbs", null));
        await AwaitConditionAsync(() => Task.FromResult(sim.ProblemCount == 2), T, TimeSpan.FromMilliseconds(20));
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first, T);
        sim.Faults.AnswerDelay = TimeSpan.Zero;
        Assert.Equal(1, sim.Usage(Token).ProblemsCompleted);
        var open = await Account(ledger);
        Assert.True(open.ReservedSeconds > 0, "the open call's reservation is still held");

        // The next gateway (a short call timeout, so that the test need not wait five minutes for the lost
        // gateway's call to be surely over) adopts it: charged in full at once, settled later.
        var second = newGateway(TimeSpan.FromSeconds(2));
        await AwaitAssertAsync(async () => Assert.Equal(0, (await Account(ledger)).ReservedSeconds, 12), T, TimeSpan.FromMilliseconds(100));
        double simNow = sim.Usage(Token).QpuAccessTimeMicroseconds;
        var adopted = await Account(ledger);
        _out.WriteLine($"adopted: simulator {simNow / 1e6:F6} s, charged {adopted.ChargedSeconds:F6} s");
        Assert.True(adopted.ChargedSeconds * 1e6 > simNow * 1.05, $"charged {adopted.ChargedSeconds} s should hold the orphaned reservation over the simulator's {simNow / 1e6} s");

        double simEnd = 0;
        await AwaitAssertAsync(async () =>
        {
            simEnd = sim.Usage(Token).QpuAccessTimeMicroseconds;
            Assert.Equal(simEnd / 1e6, (await Account(ledger)).ChargedSeconds, 9);
        }, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200));
        _out.WriteLine($"settled: simulator {simEnd / 1e6:F6} s over {sim.Usage(Token).ProblemsCompleted} problems, charged {(await Account(ledger)).ChargedSeconds:F6} s");
        Assert.Equal(2, sim.Usage(Token).ProblemsCompleted);
        // The settled call's QPU time counts for alice at the new gateway.
        var status = await second.Ask<GatewayStatus>(GetGatewayStatus.Instance, T);
        Assert.True(status.QpuMicrosByUser.GetValueOrDefault("alice") > 0);
    }

    [Fact]
    public async Task A_reservation_whose_call_never_reached_the_QPU_is_settled_to_nothing()
    {
        await using var rig = await StartAsync("ledger-take-over-unsent");
        var (sim, ledger, newGateway) = (rig.Sim, rig.Ledger, rig.NewGateway);
        // A gateway of Sim_P4 reserved and was lost before its call was sent; another solver's reservation is not its business.
        var mine = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("alice", 5000, "Sim_P4"), T);
        var other = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("alice", 700, "Other_Solver"), T);
        Assert.StartsWith(QuotaLabels.Prefix + mine.ReservationId + "-", mine.Label);
        newGateway(TimeSpan.FromSeconds(1));
        await AwaitAssertAsync(async () =>
        {
            var acc = await Account(ledger);
            Assert.Equal(0, acc.ChargedSeconds, 12);
            Assert.Equal(700 / 1e6, acc.ReservedSeconds, 12);
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, sim.Usage(Token).ProblemsCompleted);
        // Settled once: a late real charge of the same reservation would still be refused.
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.Ask<object>(new SettleQuota("alice", mine.ReservationId, 1), T));
    }
}

/// <summary>The ledger's charge-in-doubt and settle: persisted, applied once, and kept across a snapshot.</summary>
public class LedgerInDoubtTests : Akka.TestKit.Xunit2.TestKit
{
    public LedgerInDoubtTests(ITestOutputHelper output) : base(TestConfig.WithTestJournal(), output: output) { }

    private static readonly TimeSpan T = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_charge_in_doubt_is_settled_once_and_survives_a_snapshot_and_recovery()
    {
        var qs = TestConfig.Quotas(defaultSeconds: 1);
        // A snapshot after every event: recovery reads the in-doubt charge from the snapshot, not from events.
        var ledger = Sys.ActorOf(QuotaLedgerActor.Props(qs, "ledger-doubt-settle", snapshotEvery: 1));
        var r1 = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("alice", 1000), T);
        var r2 = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("alice", 2000), T);
        await ledger.Ask<Status.Success>(new ChargeQuotaInDoubt("alice", r1.ReservationId), T);
        await ledger.Ask<Status.Success>(new ChargeQuotaInDoubt("alice", r2.ReservationId), T);
        // An in-doubt charge is not a reservation: it cannot be released any more (a real charge would settle it,
        // see Adopting_orphans_...).
        await ledger.Ask<Status.Success>(new ReleaseQuota("alice", r1.ReservationId), T);
        var acc = (await ledger.Ask<QuotaReport>(new GetQuota("alice"), T)).Accounts[0];
        Assert.Equal(3000 / 1e6, acc.ChargedSeconds, 12);
        Assert.Equal(0, acc.ReservedSeconds, 12);

        await ledger.Ask<Status.Success>(new SettleQuota("alice", r1.ReservationId, 640), T);
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.Ask<object>(new SettleQuota("alice", r1.ReservationId, 1), T)); // once only
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.Ask<object>(new SettleQuota("alice", 999, 1), T)); // never in doubt

        // Stop and recover: r2 is still in doubt (settled once from the snapshot), r1 is settled.
        Watch(ledger);
        ledger.Tell(StopSingleton.Instance);
        ExpectTerminated(ledger, T);
        var again = Sys.ActorOf(QuotaLedgerActor.Props(qs, "ledger-doubt-settle", snapshotEvery: 1));
        Assert.Equal((640 + 2000) / 1e6, (await again.Ask<QuotaReport>(new GetQuota("alice"), T)).Accounts[0].ChargedSeconds, 12);
        await again.Ask<Status.Success>(new SettleQuota("alice", r2.ReservationId, 1500.5), T);
        await Assert.ThrowsAsync<InvalidOperationException>(() => again.Ask<object>(new SettleQuota("alice", r1.ReservationId, 1), T));
        Assert.Equal((640 + 1500.5) / 1e6, (await again.Ask<QuotaReport>(new GetQuota("alice"), T)).Accounts[0].ChargedSeconds, 12);
    }

    [Fact]
    public async Task Snapshots_saved_while_the_first_is_confirmed_survive_its_pruning()
    {
        // Twenty events told at once, a snapshot after each: the first snapshot's confirmation arrives while later
        // ones are already stored, and pruning "before 1" must not take them (in the in-memory store a bound of 0 is
        // "all"), or recovery finds no snapshot and no events.
        var qs = TestConfig.Quotas(defaultSeconds: 1);
        var ledger = Sys.ActorOf(QuotaLedgerActor.Props(qs, "ledger-prune-first", snapshotEvery: 1));
        for (int i = 0; i < 20; i++) ledger.Tell(new ReserveQuota("alice", 10), TestActor);
        for (int i = 0; i < 20; i++) ExpectMsg<QuotaReservedReply>(T);
        Assert.Equal(200 / 1e6, (await ledger.Ask<QuotaReport>(new GetQuota("alice"), T)).Accounts[0].ReservedSeconds, 12);
        Watch(ledger);
        ledger.Tell(StopSingleton.Instance);
        ExpectTerminated(ledger, T);
        // Recovery orphans the open reservations: all twenty are charged.
        var again = Sys.ActorOf(QuotaLedgerActor.Props(qs, "ledger-prune-first", snapshotEvery: 1));
        Assert.Equal(200 / 1e6, (await again.Ask<QuotaReport>(new GetQuota("alice"), T)).Accounts[0].ChargedSeconds, 12);
    }

    [Fact]
    public void The_snapshot_with_in_doubt_charges_round_trips_and_older_snapshots_read_as_none()
    {
        var s = new QuotaLedgerSnapshot(7, [
            new QuotaUserState("alice", 2e6, 1234.5, ImmutableSortedDictionary<long, double>.Empty.Add(5, 10), ImmutableSortedDictionary<long, double>.Empty.Add(3, 99.25)),
            new QuotaUserState("bob", null, 0, ImmutableSortedDictionary<long, double>.Empty),
        ]);
        Assert.Equal(PersistedSerializer.QuotaSnapshotV4, PersistedSerializer.ManifestOf(s));
        var back = (QuotaLedgerSnapshot)PersistedSerializer.Decode(PersistedSerializer.Encode(s), PersistedSerializer.QuotaSnapshotV4);
        Assert.Equal(99.25, back.Users[0].InDoubt![3]);
        Assert.Empty(back.Users[1].InDoubt!);
        Assert.Equal(10, back.Users[0].Reservations[5]);
        Assert.Equal(PersistedSerializer.Encode(s), PersistedSerializer.Encode(back));
        // A v1 body (what a v2 record carries) has no in-doubt section.
        var old = (QuotaLedgerSnapshot)PersistedSerializer.Decode(PersistedSerializer.EncodeV1(s), PersistedSerializer.QuotaSnapshotV1);
        Assert.Null(old.Users[0].InDoubt);
        Assert.Equal(1234.5, old.Users[0].ChargedMicros);
        foreach (var e in new IPersisted[] { new QuotaChargedInDoubt("alice", 3, 99.25), new QuotaSettled("alice", 3, 50), new QuotaOrphaned("alice", 4, 12.5) })
            Assert.Equal(e, PersistedSerializer.Decode(PersistedSerializer.Encode(e), PersistedSerializer.ManifestOf(e)));
    }

    [Fact]
    public void Reservations_and_snapshots_keep_their_calls_and_older_records_read_as_having_none()
    {
        var at = new DateTimeOffset(2026, 12, 2, 2, 30, 0, TimeSpan.Zero).AddTicks(1234567);
        var reserved = new QuotaReserved("alice", 9, 1500, "Advantage_sim4.1", at);
        Assert.Equal(PersistedSerializer.QuotaReservedV3, PersistedSerializer.ManifestOf(reserved));
        Assert.Equal(reserved, PersistedSerializer.Decode(PersistedSerializer.Encode(reserved), PersistedSerializer.QuotaReservedV3));
        Assert.Equal(reserved with { Solver = null, At = null }, PersistedSerializer.Decode(PersistedSerializer.Encode(reserved with { Solver = null, At = null }), PersistedSerializer.QuotaReservedV3));
        // What a v2 record carries (the v1 body and its checksum) reads with no call.
        var v1 = PersistedSerializer.EncodeV1(reserved);
        Assert.Equal(reserved with { Solver = null, At = null }, PersistedSerializer.Decode(v1, PersistedSerializer.QuotaReservedV1));

        var s = new QuotaLedgerSnapshot(10, [
            new QuotaUserState("alice", null, 10, ImmutableSortedDictionary<long, double>.Empty.Add(9, 1500), ImmutableSortedDictionary<long, double>.Empty.Add(8, 200),
                ImmutableSortedDictionary<long, QuotaCall>.Empty.Add(8, new QuotaCall("Advantage_sim4.1", at, true)).Add(9, new QuotaCall("Advantage_sim4.1", at, false))),
        ]);
        Assert.Equal(PersistedSerializer.QuotaSnapshotV4, PersistedSerializer.ManifestOf(s));
        var back = (QuotaLedgerSnapshot)PersistedSerializer.Decode(PersistedSerializer.Encode(s), PersistedSerializer.QuotaSnapshotV4);
        Assert.Equal(new QuotaCall("Advantage_sim4.1", at, true), back.Users[0].Calls![8]);
        Assert.Equal(PersistedSerializer.Encode(s), PersistedSerializer.Encode(back));
        // A damaged v3 reservation is named, not read as other data.
        var bytes = PersistedSerializer.Encode(reserved);
        bytes[3] ^= 0x10;
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => PersistedSerializer.Decode(bytes, PersistedSerializer.QuotaReservedV3));
    }

    [Fact]
    public async Task Adopting_orphans_the_solvers_open_reservations_a_real_charge_settles_them_and_recovery_keeps_them()
    {
        var qs = TestConfig.Quotas(defaultSeconds: 1);
        var ledger = Sys.ActorOf(QuotaLedgerActor.Props(qs, "ledger-adopt"));
        var a = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("alice", 1000, "S1"), T);
        var b = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("alice", 2000, "S1"), T);
        var other = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("alice", 400, "S2"), T);
        var untagged = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("alice", 300), T);
        Assert.NotEqual(a.Label, b.Label);

        var calls = await ledger.Ask<CallsInDoubt>(new AdoptCalls("S1"), T);
        Assert.Equal([a.ReservationId, b.ReservationId], calls.Calls.Select(c => c.ReservationId));
        Assert.All(calls.Calls, c => Assert.True(c.Orphaned));
        Assert.Equal(a.Label, calls.Calls[0].Label);
        var acc = (await ledger.Ask<QuotaReport>(new GetQuota("alice"), T)).Accounts[0];
        Assert.Equal(3000 / 1e6, acc.ChargedSeconds, 12);
        Assert.Equal(700 / 1e6, acc.ReservedSeconds, 12);
        // The orphaned call's gateway was alive after all and reports what it used: that settles it, once.
        await ledger.Ask<Status.Success>(new ChargeQuota("alice", a.ReservationId, 640), T);
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.Ask<object>(new ChargeQuota("alice", a.ReservationId, 640), T));
        Assert.Equal((640 + 2000) / 1e6, (await ledger.Ask<QuotaReport>(new GetQuota("alice"), T)).Accounts[0].ChargedSeconds, 12);
        // Adopting again answers the one still in doubt and orphans nothing new.
        Assert.Equal([b.ReservationId], (await ledger.Ask<CallsInDoubt>(new AdoptCalls("S1"), T)).Calls.Select(c => c.ReservationId));

        // Recovery orphans every open reservation (S2's and the untagged one) and keeps b's call, still adoptable.
        Watch(ledger);
        ledger.Tell(StopSingleton.Instance);
        ExpectTerminated(ledger, T);
        var again = Sys.ActorOf(QuotaLedgerActor.Props(qs, "ledger-adopt"));
        var after = (await again.Ask<QuotaReport>(new GetQuota("alice"), T)).Accounts[0];
        Assert.Equal((640 + 2000 + 400 + 300) / 1e6, after.ChargedSeconds, 12);
        Assert.Equal(0, after.ReservedSeconds, 12);
        var s2 = await again.Ask<CallsInDoubt>(new AdoptCalls("S2"), T);
        Assert.Equal([other.ReservationId], s2.Calls.Select(c => c.ReservationId));
        Assert.Equal(b.Label, (await again.Ask<CallsInDoubt>(new AdoptCalls("S1"), T)).Calls.Single().Label);
        await again.Ask<Status.Success>(new SettleQuota("alice", untagged.ReservationId, 0), T);
    }
}
