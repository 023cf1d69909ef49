using Akka.Actor;
using QaActors.DWave.Config;
using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Training;
using QaActors.Sampling;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// A qpu experiment through the real QPU sampler (embedding + SAPI) against the simulator, with an outage
/// window in the middle: every step completes, and the provenance holds both QPU and fallback samples.
/// </summary>
public class QuantumOutageTests : Akka.TestKit.Xunit2.TestKit
{
    private const string Token = "DEV-orchestration-outage-0001";
    private readonly ITestOutputHelper _out;

    public QuantumOutageTests(ITestOutputHelper output) : base(TestConfig.WithTestJournal(), output: output) => _out = output;

    [Fact]
    public async Task Qpu_run_with_an_outage_window_completes_with_qpu_and_fallback_samples()
    {
        await using var sim = await SapiSimulator.StartAsync(new SapiSimulatorOptions
        {
            Tokens = [Token],
            Solvers = [SimulatedSolverSpec.AdvantageLike("Sim_P4", LatticeGraphSource.Instance.Build("pegasus", [4]))],
            Sampler = new AnnealSampler(new AnnealOptions(Sweeps: 30)),
        });
        using var client = new SapiClient(new SapiClientOptions
        {
            Endpoint = sim.SapiEndpoint,
            Token = new SecretToken(Token),
            RequestTimeout = TimeSpan.FromSeconds(5),
            Retry = new SapiRetryPolicy { MaxAttempts = 1, MaxElapsed = TimeSpan.FromSeconds(2) },
            LongPollSeconds = 1,
        });
        using var qpuSampler = await QpuSampler.CreateAsync(client, "Sim_P4", new QpuSamplerOptions { Call = new QaActors.DWave.Structured.SapiCallOptions { Deadline = TimeSpan.FromSeconds(5) } });
        var backend = new QpuSamplerBackend(qpuSampler);

        var qs = TestConfig.Quotas(defaultSeconds: 100);
        var ledger = Sys.ActorOf(QuotaLedgerActor.Props(qs, "ledger-outage"));
        // A fallback that takes a little time, so the run is still going when the breaker's probe is due.
        var pools = new Dictionary<string, IActorRef> { ["gibbs"] = Sys.ActorOf(SamplerWorker.Pool(_ => new SlowSampler(new GibbsSampler(new GibbsOptions(Sweeps: 20))), 2)) };
        var gw = Sys.ActorOf(QpuGatewayActor.Props(backend, ledger, pools, TestConfig.Gateway(maxFailures: 2, resetMs: 300), qs));
        var services = new TrainerServices
        {
            ProcedureFor = s => new ToyProcedure(s.Seed, s.TotalSteps, "qpu"),
            BqmWorkers = Sys.ActorOf(BqmWorker.Pool(2)),
            BqmWorkerCount = 2,
            SamplerPools = pools,
            GatewayFor = _ => gw,
            Settings = Configuration.TrainerSettings.Default with { SampleTimeout = TimeSpan.FromSeconds(60) },
        };
        var trainer = Sys.ActorOf(TrainerActor.Props("quantum-outage", services));
        trainer.Tell(new StartExperiment(ToyProcedure.Spec("quantum-outage", 16, method: "qpu", fallback: "gibbs", user: "alice"), TestActor));
        // Two steps on the QPU; the run holds there (a fast machine would otherwise be steps ahead of this test), the
        // solver goes offline, and the next step runs entirely inside the outage; then the solver comes back.
        trainer.Tell(new PauseExperiment("quantum-outage", AfterStep: 2));
        object held;
        while ((held = ExpectMsg<object>(TimeSpan.FromSeconds(60))) is StepReport or ExperimentAttached) { }
        Assert.Equal("paused", Assert.IsType<ExperimentFailed>(held).Reason);
        sim.Faults.SetSolverOffline("Sim_P4", true);
        trainer.Tell(new ResumeExperiment("quantum-outage", TestActor));
        var whole = FishForMessage<StepReport>(_ => true, TimeSpan.FromSeconds(60));
        Assert.Equal(3, whole.Step);
        Assert.Equal(4, whole.StepProvenance.SamplerCounts.GetValueOrDefault("gibbs"));
        sim.Faults.SetSolverOffline("Sim_P4", false);
        ExperimentCompleted? done = null;
        while (done is null)
        {
            var m = ExpectMsg<object>(TimeSpan.FromSeconds(60));
            if (m is ExperimentFailed f) throw new Xunit.Sdk.XunitException(f.Reason);
            done = m as ExperimentCompleted;
        }
        var t = done.Summary.Totals;
        _out.WriteLine($"served: {string.Join(", ", t.SamplerCounts.Select(kv => $"{kv.Key}={kv.Value}"))}; fallback reasons: {string.Join(", ", t.FallbackReasons.Select(kv => $"{kv.Key}={kv.Value}"))}; qpu_access_time {t.QpuAccessMicros:F0} µs");
        Assert.Equal(16, done.Summary.LastStep);
        Assert.Equal(64, t.Examples);
        Assert.True(t.SamplerCounts.GetValueOrDefault("qpu") >= 8, "steps 1-2 were served by the QPU");
        Assert.True(t.SamplerCounts.GetValueOrDefault("gibbs") >= 4, "the step inside the outage was served by the fallback");
        Assert.True(t.SamplerCounts.GetValueOrDefault("qpu") >= 12, "after the outage the QPU served again (breaker closed)");
        Assert.True(t.QpuAccessMicros > 0);
        var quota = await ledger.Ask<QuotaReport>(new GetQuota("alice"), TimeSpan.FromSeconds(5));
        Assert.Equal(t.QpuAccessMicros / 1e6, quota.Accounts[0].ChargedSeconds, 6);
    }

    private sealed class SlowSampler(ISampler inner) : ISampler
    {
        public string Name => inner.Name;

        public async Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
        {
            await Task.Delay(40, cancellationToken);
            return await inner.SampleAsync(problem, request, cancellationToken);
        }
    }
}
