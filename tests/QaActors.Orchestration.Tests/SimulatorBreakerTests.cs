using Akka.Actor;
using QaActors.DWave.Config;
using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;
using QaActors.Orchestration.Gateway;
using QaActors.Sampling;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// A qubit-level QPU backend over the real SAPI client: problems whose labels are qubits of the solver's
/// working graph go straight to SAPI (no embedding; the production backend adds it via the QPU sampler).
/// </summary>
internal sealed class DirectSapiBackend(SapiClient client, SolverInfo solver) : IQpuBackend
{
    public string Solver => solver.Name;
    public string SamplerName => "qpu";

    public Task<QpuPlan> PlanAsync(Bqm problem, QpuJobSettings settings, CancellationToken ct) => Task.FromResult(new QpuPlan(1, problem.NumVariables));

    public double EstimateAccessMicros(QpuPlan plan, int copies, SampleRequest request) =>
        AccessTimeEstimator.EstimateAccessTime(solver, (int)plan.Key!, request.Reads);

    public async Task<IReadOnlyList<SampleSet>> SampleAsync(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests, QpuJobSettings settings, CancellationToken ct)
    {
        var r = await client.SampleAsync(solver, QpuProblem.FromBqm(problems[0].ToSpin()),
            new QpuParameters { NumReads = requests[0].Reads, AutoScale = false, AnswerMode = "raw" }, TimeSpan.FromSeconds(5), label: requests[0].Label, ct: ct);
        return [r.Samples];
    }

    public QpuFailureKind Classify(Exception error) => DelegateQpuBackend.DefaultClassify(error);

    public IReadOnlyList<string> ProblemsInDoubt(Exception error) => DelegateQpuBackend.SapiProblemsInDoubt(error);

    public async Task<LabelUsage?> UsageOfLabelAsync(string label, CancellationToken ct)
    {
        var problems = await client.ListProblemsAsync(label, ct);
        int unfinished = 0;
        double total = 0;
        foreach (var p in problems)
            if (await client.AccessTimeOfAsync(p.Id, ct) is { } t) total += t;
            else unfinished++;
        return new LabelUsage(problems.Count, unfinished, total);
    }
}

public class SimulatorBreakerTests : Akka.TestKit.Xunit2.TestKit
{
    private const string Token = "DEV-orchestration-test-token-0001";
    private const string SolverName = "Sim_Orchestration";

    public SimulatorBreakerTests(ITestOutputHelper output) : base(TestConfig.WithTestJournal(), output: output) { }

    [Fact]
    public async Task Breaker_opens_on_simulator_faults_falls_back_and_closes_after_recovery()
    {
        // An 8-qubit ring is enough hardware for a 3-variable chain problem.
        var graph = SolverGraph.FromEdges(8, Enumerable.Range(0, 8), Enumerable.Range(0, 8).Select(i => (i, (i + 1) % 8)), "pegasus", [2]);
        await using var sim = await SapiSimulator.StartAsync(new SapiSimulatorOptions
        {
            Tokens = [Token],
            Solvers = [SimulatedSolverSpec.AdvantageLike(SolverName, graph)],
            Sampler = new AnnealSampler(new AnnealOptions(Sweeps: 50)),
        });
        using var client = new SapiClient(new SapiClientOptions
        {
            Endpoint = sim.SapiEndpoint,
            Token = new SecretToken(Token),
            RequestTimeout = TimeSpan.FromSeconds(5),
            Retry = new SapiRetryPolicy { MaxAttempts = 1, BaseDelay = TimeSpan.FromMilliseconds(10), MaxElapsed = TimeSpan.FromSeconds(2) },
            LongPollSeconds = 1,
        });
        var solver = await client.GetSolverAsync(SolverName);
        var backend = new DirectSapiBackend(client, solver);

        var qs = TestConfig.Quotas(defaultSeconds: 100);
        var ledger = Sys.ActorOf(QuotaLedgerActor.Props(qs, "ledger-sim"));
        var fallbacks = new Dictionary<string, IActorRef> { ["gibbs"] = Sys.ActorOf(SamplerWorker.Pool(_ => new GibbsSampler(new GibbsOptions(Sweeps: 20)), 1)) };
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events, typeof(BreakerStateChanged));
        var gw = Sys.ActorOf(QpuGatewayActor.Props(backend, ledger, fallbacks, TestConfig.Gateway(maxFailures: 2, resetMs: 400), qs));

        var problem = Bqm.FromArrays(Vartype.Spin, [0.1, -0.2, 0.3], [0, 1], [1, 2], [-0.5, 0.25], labels: [0, 1, 2]);
        SampleJob Job(int i) => new(SampleJob.NextId(), "alice", "exp-sim", problem, new SampleRequest(10, 1.0, (ulong)i), "gibbs", null);

        gw.Tell(Job(0));
        var ok = ExpectMsg<SampleReply>(TimeSpan.FromSeconds(10));
        Assert.Equal("qpu", ok.ServedBy);
        Assert.True(ok.QpuAccessMicros > 0, "the simulator reports qpu_access_time");

        // Outage: the simulator fails the next problems; two failures open the breaker.
        sim.Faults.FailNextProblems(2, "injected calibration fault");
        for (int i = 1; i <= 2; i++)
        {
            gw.Tell(Job(i));
            var r = ExpectMsg<SampleReply>(TimeSpan.FromSeconds(10));
            Assert.Equal("gibbs", r.ServedBy);
            Assert.StartsWith(FallbackReasons.QpuError, r.FallbackReason);
        }
        Assert.Equal(BreakerState.Open, events.ExpectMsg<BreakerStateChanged>(TimeSpan.FromSeconds(5)).State);
        int problemsBefore = sim.ProblemCount;
        gw.Tell(Job(3));
        var whileOpen = ExpectMsg<SampleReply>(TimeSpan.FromSeconds(10));
        Assert.Equal(FallbackReasons.BreakerOpen, whileOpen.FallbackReason);
        Assert.Equal(problemsBefore, sim.ProblemCount); // nothing reached the QPU while open

        // The simulator has recovered (its fault budget is spent): the half-open probe succeeds and closes.
        Assert.Equal(BreakerState.HalfOpen, events.ExpectMsg<BreakerStateChanged>(TimeSpan.FromSeconds(5)).State);
        gw.Tell(Job(4));
        var back = ExpectMsg<SampleReply>(TimeSpan.FromSeconds(10));
        Assert.Equal("qpu", back.ServedBy);
        Assert.Equal(BreakerState.Closed, events.ExpectMsg<BreakerStateChanged>(TimeSpan.FromSeconds(5)).State);

        var quota = await ledger.Ask<QuotaReport>(new GetQuota("alice"), TimeSpan.FromSeconds(5));
        Assert.Equal((ok.QpuAccessMicros + back.QpuAccessMicros) / 1e6, quota.Accounts[0].ChargedSeconds, 9);
    }
}
