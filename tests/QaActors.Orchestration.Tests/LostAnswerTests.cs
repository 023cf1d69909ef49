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

    private sealed record Rig(SapiSimulator Sim, SapiClient Client, QpuSampler Sampler, IActorRef Ledger, IActorRef Gateway) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Sampler.Dispose();
            Client.Dispose();
            await Sim.DisposeAsync();
        }
    }

    private async Task<Rig> StartAsync(string ledgerId, TimeSpan giveUpAfter)
    {
        var sim = await SapiSimulator.StartAsync(new SapiSimulatorOptions
        {
            Tokens = [Token],
            Solvers = [SimulatedSolverSpec.AdvantageLike("Sim_P4", LatticeGraphSource.Instance.Build("pegasus", [4]))],
            Sampler = new AnnealSampler(new AnnealOptions(Sweeps: 30)),
        });
        // Few retries and a short deadline: the client gives up on a hidden answer long before the simulator shows it again.
        var client = new SapiClient(new SapiClientOptions
        {
            Endpoint = sim.SapiEndpoint,
            Token = new SecretToken(Token),
            RequestTimeout = TimeSpan.FromSeconds(2),
            Retry = new SapiRetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(20), MaxElapsed = TimeSpan.FromMilliseconds(500) },
            LongPollSeconds = 1,
        });
        var sampler = await QpuSampler.CreateAsync(client, "Sim_P4",
            new QpuSamplerOptions { Call = new QaActors.DWave.Structured.SapiCallOptions { Deadline = TimeSpan.FromSeconds(1) } });
        // As shipped: a reservation is the estimate × 1.25, so a charged reservation shows above the real use.
        var qs = TestConfig.Quotas(defaultSeconds: 100, reserveFactor: 1.25);
        var ledger = Sys.ActorOf(QuotaLedgerActor.Props(qs, ledgerId));
        var pools = new Dictionary<string, IActorRef> { ["gibbs"] = Sys.ActorOf(SamplerWorker.Pool(_ => new GibbsSampler(new GibbsOptions(Sweeps: 10)), 1)) };
        var gs = TestConfig.Gateway(maxFailures: 100) with
        {
            LostAnswerFirstLook = TimeSpan.FromMilliseconds(200),
            LostAnswerMaxBackoff = TimeSpan.FromMilliseconds(400),
            LostAnswerGiveUpAfter = giveUpAfter,
        };
        var gw = Sys.ActorOf(QpuGatewayActor.Props(new QpuSamplerBackend(sampler), ledger, pools, gs, qs));
        return new Rig(sim, client, sampler, ledger, gw);
    }

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
        // An in-doubt charge is not a reservation: it cannot be released any more, nor charged again.
        await ledger.Ask<Status.Success>(new ReleaseQuota("alice", r1.ReservationId), T);
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.Ask<object>(new ChargeQuota("alice", r1.ReservationId, 1), T));
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
    public void The_snapshot_with_in_doubt_charges_round_trips_and_older_snapshots_read_as_none()
    {
        var s = new QuotaLedgerSnapshot(7, [
            new QuotaUserState("alice", 2e6, 1234.5, ImmutableSortedDictionary<long, double>.Empty.Add(5, 10), ImmutableSortedDictionary<long, double>.Empty.Add(3, 99.25)),
            new QuotaUserState("bob", null, 0, ImmutableSortedDictionary<long, double>.Empty),
        ]);
        Assert.Equal(PersistedSerializer.QuotaSnapshotV3, PersistedSerializer.ManifestOf(s));
        var back = (QuotaLedgerSnapshot)PersistedSerializer.Decode(PersistedSerializer.Encode(s), PersistedSerializer.QuotaSnapshotV3);
        Assert.Equal(99.25, back.Users[0].InDoubt![3]);
        Assert.Empty(back.Users[1].InDoubt!);
        Assert.Equal(10, back.Users[0].Reservations[5]);
        Assert.Equal(PersistedSerializer.Encode(s), PersistedSerializer.Encode(back));
        // A v1 body (what a v2 record carries) has no in-doubt section.
        var old = (QuotaLedgerSnapshot)PersistedSerializer.Decode(PersistedSerializer.EncodeV1(s), PersistedSerializer.QuotaSnapshotV1);
        Assert.Null(old.Users[0].InDoubt);
        Assert.Equal(1234.5, old.Users[0].ChargedMicros);
        foreach (var e in new IPersisted[] { new QuotaChargedInDoubt("alice", 3, 99.25), new QuotaSettled("alice", 3, 50) })
            Assert.Equal(e, PersistedSerializer.Decode(PersistedSerializer.Encode(e), PersistedSerializer.ManifestOf(e)));
    }
}
