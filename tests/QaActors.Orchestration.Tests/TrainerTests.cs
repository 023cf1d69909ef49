using Akka.Actor;
using Akka.Persistence;
using System.Runtime.CompilerServices;
using Akka.Persistence.TestKit;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Training;
using QaActors.Sampling;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

public class TrainerTests : Akka.TestKit.Xunit2.TestKit
{
    public TrainerTests(ITestOutputHelper output) : base(TestConfig.WithTestJournal(), output: output)
    {
        // Every run says it took the listener on first, and a pause that it is recorded; the tests of listeners use probes.
        IgnoreMessages(m => m is ExperimentAttached or ExperimentPaused);
    }

    private TrainerServices Services(Func<ExperimentSpec, ITrainingProcedure> procedureFor, int snapshotEvery = 4, IActorRef? gateway = null, bool continueWhenRestored = false)
    {
        var pools = new Dictionary<string, IActorRef>
        {
            ["gibbs"] = Sys.ActorOf(SamplerWorker.Pool(_ => new GibbsSampler(new GibbsOptions(Sweeps: 20)), 2)),
            ["anneal"] = Sys.ActorOf(SamplerWorker.Pool(_ => new AnnealSampler(new AnnealOptions(Sweeps: 20)), 2)),
        };
        return new TrainerServices
        {
            ProcedureFor = procedureFor,
            BqmWorkers = Sys.ActorOf(BqmWorker.Pool(2)),
            BqmWorkerCount = 2,
            SamplerPools = pools,
            GatewayFor = _ => gateway,
            ContinueWhenRestored = continueWhenRestored,
            Settings = TrainerSettings.Default with
            {
                SnapshotEvery = snapshotEvery,
                ApplyTimeout = TimeSpan.FromSeconds(10),
                SampleTimeout = TimeSpan.FromSeconds(20),
                BuildTimeout = TimeSpan.FromSeconds(10),
            },
        };
    }

    private ExperimentCompleted RunToEnd(IActorRef trainer, object start, List<StepReport>? reports = null)
    {
        trainer.Tell(start, TestActor);
        while (true)
        {
            var m = ExpectMsg<object>(TimeSpan.FromSeconds(30));
            switch (m)
            {
                case StepReport r: reports?.Add(r); break;
                case ExperimentCompleted c: return c;
                case ExperimentFailed f: throw new Xunit.Sdk.XunitException($"experiment failed: {f.Reason}");
            }
        }
    }

    /// <summary>The completed experiment's model, read from the journal as a node would (the completion carries none).</summary>
    private byte[] Bytes(ExperimentCompleted c)
    {
        var spec = c.Summary.Spec;
        var state = FinalStateReader.ReadAsync(Sys, spec.ExperimentId, s => new ToyProcedure(s.Seed, s.TotalSteps, s.Method), TimeSpan.FromSeconds(10))
            .GetAwaiter().GetResult();
        return new ToyProcedure(0, 0).SaveState(state);
    }

    private ExperimentCompleted Uninterrupted(string id, long steps) => NewRun(id, steps).Done;

    /// <summary>Starts a new toy experiment on a new trainer and runs it to its end.</summary>
    private (IActorRef Trainer, TrainerServices Services, ExperimentCompleted Done) NewRun(string id, long steps, List<StepReport>? reports = null)
    {
        var services = Services(s => new ToyProcedure(s.Seed, s.TotalSteps));
        var trainer = Sys.ActorOf(TrainerActor.Props(id, services));
        return (trainer, services, RunToEnd(trainer, new StartExperiment(ToyProcedure.Spec(id, steps), TestActor), reports));
    }

    /// <summary>Matches the journal write of step <paramref name="step"/> the first time only; counts the matches.</summary>
    private static Func<IPersistentRepresentation, bool> FirstWriteOf(long step, StrongBox<int> matched) =>
        p => (p.Payload is StepReplay r && r.Step == step || p.Payload is StepCheckpoint c && c.Step == step)
             && Interlocked.Exchange(ref matched.Value, 1) == 0;

    private ITestJournal Journal() => TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));

    [Fact]
    public async Task A_run_that_ends_soon_after_its_last_snapshot_keeps_its_events_and_reads_the_same_model()
    {
        // snapshot-every 20: a run ending fewer than 10 steps after its last snapshot (here: its start) writes no final
        // snapshot; one ending 15 steps after it does. Either way the model read back is the one a run with a snapshot
        // every 4 steps gives, bit for bit.
        async Task<bool> HasSnapshot(string id)
        {
            var store = Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
            var r = await store.Ask<LoadSnapshotResult>(new LoadSnapshot(AggregatorActor.PersistenceIdOf(id), SnapshotSelectionCriteria.Latest, long.MaxValue), TimeSpan.FromSeconds(10));
            return r.Snapshot is not null;
        }
        foreach (var (steps, snapshot) in new[] { (5L, false), (15L, true) })
        {
            var reference = Uninterrupted($"ref-final-{steps}", steps);
            string id = $"final-{steps}";
            var trainer = Sys.ActorOf(TrainerActor.Props(id, Services(s => new ToyProcedure(s.Seed, s.TotalSteps), snapshotEvery: 20)));
            var done = RunToEnd(trainer, new StartExperiment(ToyProcedure.Spec(id, steps), TestActor));
            Assert.Equal(snapshot, await HasSnapshot(id));
            Assert.Equal(Bytes(reference), Bytes(done));
        }
    }

    [Fact]
    public async Task Journal_write_failure_neither_loses_nor_double_applies_a_step()
    {
        var reference = Uninterrupted("ref-journal", 10);
        var failed = new StrongBox<int>();
        await Journal().OnWrite.FailIf(FirstWriteOf(6, failed));

        var reports = new List<StepReport>();
        var (trainer, services, done) = NewRun("faulty-journal", 10, reports);
        Assert.Equal(1, failed.Value);

        // Every step reported once, in order, and the model equals the uninterrupted run's bit for bit.
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), reports.Select(r => r.Step));
        Assert.Equal(Bytes(reference), Bytes(done));
        Assert.Equal(Enumerable.Range(0, 11).Select(i => (long)i), done.Summary.History.Select(h => h.Step));
        Assert.Equal(40, done.Summary.Totals.SamplerCounts["gibbs"]); // 10 steps × 4 examples, none twice

        // A new incarnation recovers exactly step 10 from the journal (snapshot + events).
        Watch(trainer);
        Sys.Stop(trainer);
        ExpectTerminated(trainer);
        var again = Sys.ActorOf(TrainerActor.Props("faulty-journal", services));
        var summary = await again.Ask<ExperimentSummary>(new GetExperimentSummary("faulty-journal"), TimeSpan.FromSeconds(10));
        Assert.Equal(10, summary.LastStep);
        Assert.Equal(11, summary.History.Length);
    }

    [Fact]
    public void Messages_of_an_earlier_attempt_or_step_are_ignored_in_every_phase()
    {
        var reference = Uninterrupted("ref-stale", 8);
        var services = Services(s => new ToyProcedure(s.Seed, s.TotalSteps));
        var trainer = Sys.ActorOf(TrainerActor.Props("stale", services));
        trainer.Tell(new StartExperiment(ToyProcedure.Spec("stale", 8), TestActor));
        var bogus = new ToyProcedure(1, 1).InitialState();
        var steps = new List<long>();
        ExperimentCompleted? done = null;
        while (done is null)
        {
            switch (ExpectMsg<object>(TimeSpan.FromSeconds(30)))
            {
                case StepReport r:
                    steps.Add(r.Step);
                    // Whatever phase the trainer is in now, these belong to no attempt of it: a repeated confirmation
                    // of the step just applied (with another state), and a sampling outcome of an attempt that never was.
                    // Taken for current, they would corrupt the model, skip a step or fail the run.
                    trainer.Tell(new StepApplied(r.Step, r.Metrics, r.StepProvenance, r.Totals, bogus));
                    trainer.Tell(new StepApplied(r.Step - 1, r.Metrics, r.StepProvenance, r.Totals, bogus));
                    trainer.Tell(new StepSamplesCollected(-1, r.Step + 1, [], Provenance.Empty));
                    trainer.Tell(new StepSamplingFailed(-1, r.Step + 1, "stale refusal", Refused: true));
                    trainer.Tell(new ExperimentFinished(r.Step - 1));
                    break;
                case ExperimentCompleted c: done = c; break;
                case ExperimentFailed f: throw new Xunit.Sdk.XunitException($"experiment failed: {f.Reason}");
            }
        }
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), steps);
        Assert.Equal(Bytes(reference), Bytes(done));
        Assert.Equal(reference.Summary.History.Select(h => h.Values[0].Value), done.Summary.History.Select(h => h.Values[0].Value));
    }

    [Fact]
    public async Task Journal_rejection_is_retried_without_losing_the_step()
    {
        var reference = Uninterrupted("ref-reject", 6);
        var rejected = new StrongBox<int>();
        await Journal().OnWrite.RejectIf(FirstWriteOf(2, rejected));
        var done = NewRun("rejecting-journal", 6).Done;
        Assert.Equal(1, rejected.Value);
        Assert.Equal(Bytes(reference), Bytes(done));
    }

    [Fact]
    public void Resumed_training_equals_uninterrupted_training_bit_for_bit()
    {
        var reference = Uninterrupted("ref-resume", 12);

        var services = Services(s => new ToyProcedure(s.Seed, s.TotalSteps), snapshotEvery: 5);
        var first = Sys.ActorOf(TrainerActor.Props("resumed", services));
        first.Tell(new StartExperiment(ToyProcedure.Spec("resumed", 12), TestActor));
        first.Tell(new PauseExperiment("resumed", AfterStep: 7));
        long lastSeen = 0;
        while (true)
        {
            var m = ExpectMsg<object>(TimeSpan.FromSeconds(30));
            if (m is StepReport r) lastSeen = r.Step;
            else { Assert.Equal("paused", Assert.IsType<ExperimentFailed>(m).Reason); break; }
        }
        Assert.Equal(7, lastSeen);
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);

        var second = Sys.ActorOf(TrainerActor.Props("resumed", services));
        var reports = new List<StepReport>();
        var done = RunToEnd(second, new ResumeExperiment("resumed", TestActor), reports);
        Assert.Equal(lastSeen, done.ResumedFromStep);
        Assert.Equal(Enumerable.Range((int)lastSeen + 1, 12 - (int)lastSeen).Select(i => (long)i), reports.Select(r => r.Step));
        Assert.Equal(Bytes(reference), Bytes(done));
        Assert.Equal(reference.Summary.History.Select(h => h.Values[0].Value), done.Summary.History.Select(h => h.Values[0].Value));
    }

    [Fact]
    public void Showing_a_recovered_experiment_replays_nothing_and_resuming_it_replays_exactly()
    {
        var reference = Uninterrupted("ref-lazy", 9);
        var services = Services(s => new ToyProcedure(s.Seed, s.TotalSteps), snapshotEvery: 4);
        var first = Sys.ActorOf(TrainerActor.Props("lazy", services));
        first.Tell(new StartExperiment(ToyProcedure.Spec("lazy", 9), TestActor));
        first.Tell(new PauseExperiment("lazy", AfterStep: 6));
        while (ExpectMsg<object>(TimeSpan.FromSeconds(30)) is StepReport) { }
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);

        // Snapshot at step 4, steps 5 and 6 as replays: listing needs only the journal, never the science (no data load).
        int built = 0;
        var counting = Services(s => { Interlocked.Increment(ref built); return new ToyProcedure(s.Seed, s.TotalSteps); }, snapshotEvery: 4);
        var second = Sys.ActorOf(TrainerActor.Props("lazy", counting));
        second.Tell(new GetExperimentSummary("lazy"), TestActor);
        var summary = ExpectMsg<ExperimentSummary>(TimeSpan.FromSeconds(20));
        Assert.Equal(6, summary.LastStep);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i), summary.History.Select(h => h.Step));
        Assert.Equal(0, Volatile.Read(ref built));

        var done = RunToEnd(second, new ResumeExperiment("lazy", TestActor));
        Assert.Equal(6, done.ResumedFromStep);
        Assert.Equal(1, Volatile.Read(ref built));
        Assert.Equal(Bytes(reference), Bytes(done));
    }

    [Fact]
    public void Starting_an_existing_experiment_with_other_settings_is_refused()
    {
        Uninterrupted("conflict", 2);
        var services = Services(s => new ToyProcedure(s.Seed, s.TotalSteps));
        var trainer = Sys.ActorOf(TrainerActor.Props("conflict", services));
        trainer.Tell(new StartExperiment(ToyProcedure.Spec("conflict", 2, seed: 7), TestActor));
        var f = ExpectMsg<ExperimentFailed>(TimeSpan.FromSeconds(10));
        Assert.Contains("seed", f.Reason);
    }

    [Fact]
    public void Qpu_experiment_records_provenance_of_qpu_and_fallback_samples()
    {
        var qpu = new FakeQpu(TimeProvider.System) { CostOf = _ => 1500, FailAfter = 12 };
        var qs = TestConfig.Quotas();
        var ledger = Sys.ActorOf(QuotaLedgerActor.Props(qs, "ledger-trainer"));
        var services = Services(s => new ToyProcedure(s.Seed, s.TotalSteps, "qpu"));
        var gw = Sys.ActorOf(QpuGatewayActor.Props(qpu, ledger, services.SamplerPools, TestConfig.Gateway(maxFailures: 2, resetMs: 60_000), qs));
        services = new TrainerServices
        {
            ProcedureFor = services.ProcedureFor, BqmWorkers = services.BqmWorkers, BqmWorkerCount = 2,
            SamplerPools = services.SamplerPools, GatewayFor = _ => gw, Settings = services.Settings,
        };
        var trainer = Sys.ActorOf(TrainerActor.Props("qpu-exp", services));
        var reports = new List<StepReport>();
        trainer.Tell(new StartExperiment(ToyProcedure.Spec("qpu-exp", 6, method: "qpu", fallback: "anneal"), TestActor));
        // Three steps on the QPU, then an outage: the rest is served by the fallback, and says so.
        ExperimentCompleted? done = null;
        while (done is null)
        {
            var m = ExpectMsg<object>(TimeSpan.FromSeconds(30));
            if (m is StepReport r) reports.Add(r);
            else done = Assert.IsType<ExperimentCompleted>(m);
        }
        var totals = done.Summary.Totals;
        Assert.Equal(24, totals.Examples);
        Assert.Equal(12, totals.SamplerCounts["qpu"]);
        Assert.Equal(12, totals.SamplerCounts["anneal"]);
        Assert.Equal(totals.SamplerCounts["anneal"], totals.FallbackReasons.Values.Sum());
        Assert.Contains(totals.FallbackReasons.Keys, k => k.StartsWith(FallbackReasons.QpuError) || k == FallbackReasons.BreakerOpen);
        Assert.Equal(totals.SamplerCounts["qpu"] * 1500.0, totals.QpuAccessMicros);
        Assert.True(totals.MeanChainBreakFraction > 0);
    }

    // ---- listeners, and runs that outlive their trainer (docs/architecture.md, "Listeners and node loss") ----

    /// <summary>Services whose toy runs wait before step <paramref name="holdAt"/> until <paramref name="gate"/> opens.</summary>
    private TrainerServices Held(ManualResetEventSlim gate, long holdAt, bool continueWhenRestored = false) =>
        Services(s => new ToyProcedure(s.Seed, s.TotalSteps) { BeforeStep = step => { if (step == holdAt) gate.Wait(TimeSpan.FromSeconds(30)); } },
            continueWhenRestored: continueWhenRestored);

    /// <summary>Starts a run on a held trainer and returns once step <paramref name="holdAt"/> - 1 is reported.</summary>
    private IActorRef StartHeld(string id, long steps, TrainerServices services, long holdAt)
    {
        var trainer = Sys.ActorOf(TrainerActor.Props(id, services));
        trainer.Tell(new StartExperiment(ToyProcedure.Spec(id, steps), TestActor));
        while (ExpectMsg<StepReport>(TimeSpan.FromSeconds(30)).Step < holdAt - 1) { }
        return trainer;
    }

    private static ExperimentCompleted Follow(Akka.TestKit.TestProbe probe, List<long>? steps = null)
    {
        while (true)
        {
            switch (probe.ExpectMsg<object>(TimeSpan.FromSeconds(30)))
            {
                case StepReport r: steps?.Add(r.Step); break;
                case ExperimentCompleted c: return c;
                case ExperimentFailed f: throw new Xunit.Sdk.XunitException($"experiment failed: {f.Reason}");
                case ExperimentAttached: break;
            }
        }
    }

    [Fact]
    public void Listeners_attach_to_a_running_experiment_and_a_start_with_other_settings_is_refused()
    {
        var reference = Uninterrupted("ref-attach", 8);
        using var gate = new ManualResetEventSlim(false);
        var trainer = StartHeld("attach", 8, Held(gate, 4), 4);
        var watcher = CreateTestProbe();
        var again = CreateTestProbe();
        var other = CreateTestProbe();
        trainer.Tell(new AttachExperiment("attach", watcher.Ref, ContinueInterrupted: false), watcher.Ref);
        trainer.Tell(new StartExperiment(ToyProcedure.Spec("attach", 8), again.Ref));
        trainer.Tell(new StartExperiment(ToyProcedure.Spec("attach", 8, seed: 9), other.Ref));
        Assert.Equal(3, watcher.ExpectMsg<ExperimentAttached>(TimeSpan.FromSeconds(10)).LastStep);
        Assert.Equal(3, again.ExpectMsg<ExperimentAttached>(TimeSpan.FromSeconds(10)).LastStep);
        Assert.Contains("different settings (seed 42 vs 9)", other.ExpectMsg<ExperimentFailed>(TimeSpan.FromSeconds(10)).Reason);
        gate.Set();
        var steps = new List<long>();
        var seen = Follow(watcher, steps);
        Assert.Equal([4L, 5, 6, 7, 8], steps);
        Follow(again);
        // The refused start changed nothing: the run is the uninterrupted one.
        Assert.Equal(Bytes(reference), Bytes(seen));
        object last;
        while ((last = ExpectMsg<object>(TimeSpan.FromSeconds(10))) is StepReport) { }
        Assert.IsType<ExperimentCompleted>(last); // the first listener heard the end too
    }

    [Fact]
    public void Attaching_answers_for_runs_that_ended_were_stopped_or_were_interrupted()
    {
        var services = Services(s => new ToyProcedure(s.Seed, s.TotalSteps));
        var reference = Uninterrupted("ref-ended", 6);
        // Ended: the completion at once.
        var probe = CreateTestProbe();
        Sys.ActorOf(TrainerActor.Props("ref-ended", services)).Tell(new AttachExperiment("ref-ended", probe.Ref, ContinueInterrupted: false));
        Assert.Equal(6, probe.ExpectMsg<ExperimentCompleted>(TimeSpan.FromSeconds(10)).Summary.LastStep);

        // Stopped on purpose: the reason, and neither a watcher nor a restored trainer continues it.
        var paused = Sys.ActorOf(TrainerActor.Props("stopped", services));
        paused.Tell(new StartExperiment(ToyProcedure.Spec("stopped", 6), TestActor));
        paused.Tell(new PauseExperiment("stopped", AfterStep: 2));
        while (ExpectMsg<object>(TimeSpan.FromSeconds(30)) is StepReport) { }
        // An attach waits until the stop is recorded, then hears why it stopped.
        paused.Tell(new AttachExperiment("stopped", probe.Ref, ContinueInterrupted: true));
        Assert.Equal("paused", probe.ExpectMsg<ExperimentFailed>(TimeSpan.FromSeconds(10)).Reason);
        Watch(paused);
        Sys.Stop(paused);
        ExpectTerminated(paused, TimeSpan.FromSeconds(10));
        var restored = Sys.ActorOf(TrainerActor.Props("stopped", Services(s => new ToyProcedure(s.Seed, s.TotalSteps), continueWhenRestored: true)));
        restored.Tell(new AttachExperiment("stopped", probe.Ref, ContinueInterrupted: true));
        Assert.Equal("paused", probe.ExpectMsg<ExperimentFailed>(TimeSpan.FromSeconds(10)).Reason);
        restored.Tell(new GetExperimentSummary("stopped"), probe.Ref);
        Assert.Equal(2, probe.ExpectMsg<ExperimentSummary>(TimeSpan.FromSeconds(10)).LastStep);

        // Interrupted (its trainer stopped without ending the run): a watcher is told so; an attach that may continue,
        // continues it, to the uninterrupted run's model.
        using var gate = new ManualResetEventSlim(false);
        var lost = StartHeld("interrupted", 6, Held(gate, 4), 4);
        Watch(lost);
        Sys.Stop(lost);
        ExpectTerminated(lost, TimeSpan.FromSeconds(10));
        gate.Set();
        var watcher = Sys.ActorOf(TrainerActor.Props("interrupted", services));
        watcher.Tell(new AttachExperiment("interrupted", probe.Ref, ContinueInterrupted: false));
        Assert.Equal(ExperimentRunner.InterruptedReason, probe.ExpectMsg<ExperimentFailed>(TimeSpan.FromSeconds(10)).Reason);
        watcher.Tell(new AttachExperiment("interrupted", probe.Ref, ContinueInterrupted: true));
        probe.ExpectMsg<ExperimentAttached>(TimeSpan.FromSeconds(10));
        var steps = new List<long>();
        var done = Follow(probe, steps);
        Assert.Equal([4L, 5, 6], steps);
        Assert.Equal(3, done.ResumedFromStep);
        Assert.Equal(Bytes(reference), Bytes(done));
    }

    [Fact]
    public void A_restored_trainer_continues_an_interrupted_run_by_itself_and_a_resume_after_a_stop_clears_it()
    {
        var reference = Uninterrupted("ref-restored", 7);
        using var gate = new ManualResetEventSlim(false);
        var lost = StartHeld("restored", 7, Held(gate, 3), 3);
        Watch(lost);
        Sys.Stop(lost);
        ExpectTerminated(lost, TimeSpan.FromSeconds(10));
        gate.Set();
        // As the shard restores it: no message, only the services of a long-lived node.
        var restored = Sys.ActorOf(TrainerActor.Props("restored", Services(s => new ToyProcedure(s.Seed, s.TotalSteps), continueWhenRestored: true)));
        var probe = CreateTestProbe();
        restored.Tell(new AttachExperiment("restored", probe.Ref, ContinueInterrupted: false));
        var done = Follow(probe);
        Assert.Equal(7, done.Summary.LastStep);
        Assert.Equal(Bytes(reference), Bytes(done));

        // Stopped, then resumed on purpose, then its trainer lost: restoring continues it again.
        var services = Services(s => new ToyProcedure(s.Seed, s.TotalSteps));
        var t1 = Sys.ActorOf(TrainerActor.Props("resumed-stop", services));
        t1.Tell(new StartExperiment(ToyProcedure.Spec("resumed-stop", 7), TestActor));
        t1.Tell(new PauseExperiment("resumed-stop", AfterStep: 1));
        while (ExpectMsg<object>(TimeSpan.FromSeconds(30)) is StepReport) { }
        t1.Tell(new AttachExperiment("resumed-stop", probe.Ref));
        Assert.Equal("paused", probe.ExpectMsg<ExperimentFailed>(TimeSpan.FromSeconds(10)).Reason);
        Watch(t1);
        Sys.Stop(t1);
        ExpectTerminated(t1, TimeSpan.FromSeconds(10));
        using var gate2 = new ManualResetEventSlim(false);
        var t2 = Sys.ActorOf(TrainerActor.Props("resumed-stop", Held(gate2, 3)));
        t2.Tell(new ResumeExperiment("resumed-stop", TestActor));
        Assert.Equal(2, ExpectMsg<StepReport>(TimeSpan.FromSeconds(30)).Step);
        Watch(t2);
        Sys.Stop(t2);
        ExpectTerminated(t2, TimeSpan.FromSeconds(10));
        gate2.Set();
        var t3 = Sys.ActorOf(TrainerActor.Props("resumed-stop", Services(s => new ToyProcedure(s.Seed, s.TotalSteps), continueWhenRestored: true)));
        t3.Tell(new AttachExperiment("resumed-stop", probe.Ref, ContinueInterrupted: false));
        var again = Follow(probe);
        Assert.Equal(7, again.Summary.LastStep);
        Assert.Equal(Bytes(reference), Bytes(again));
    }

    [Fact]
    public void A_pause_is_recorded_at_once_so_neither_a_restored_trainer_nor_an_attach_continues_the_run()
    {
        var probe = CreateTestProbe();
        using var gate = new ManualResetEventSlim(false);
        var lost = StartHeld("pause-now", 6, Held(gate, 4), 4);
        lost.Tell(new PauseExperiment("pause-now"), probe.Ref);
        probe.ExpectMsg<ExperimentPaused>(TimeSpan.FromSeconds(10));
        // Its process goes before the step in progress ends: the pause is recorded already.
        Watch(lost);
        Sys.Stop(lost);
        ExpectTerminated(lost, TimeSpan.FromSeconds(10));
        gate.Set();
        var restored = Sys.ActorOf(TrainerActor.Props("pause-now", Services(s => new ToyProcedure(s.Seed, s.TotalSteps), continueWhenRestored: true)));
        restored.Tell(new AttachExperiment("pause-now", probe.Ref, ContinueInterrupted: true));
        Assert.Equal("paused", probe.ExpectMsg<ExperimentFailed>(TimeSpan.FromSeconds(10)).Reason);

        // An interrupted run cancelled while nothing runs stays stopped too.
        using var gate2 = new ManualResetEventSlim(false);
        var lost2 = StartHeld("pause-idle", 6, Held(gate2, 4), 4);
        Watch(lost2);
        Sys.Stop(lost2);
        ExpectTerminated(lost2, TimeSpan.FromSeconds(10));
        gate2.Set();
        var idle = Sys.ActorOf(TrainerActor.Props("pause-idle", Services(s => new ToyProcedure(s.Seed, s.TotalSteps))));
        idle.Tell(new PauseExperiment("pause-idle"), probe.Ref);
        probe.ExpectMsg<ExperimentPaused>(TimeSpan.FromSeconds(10));
        idle.Tell(new AttachExperiment("pause-idle", probe.Ref, ContinueInterrupted: true));
        Assert.Equal("paused", probe.ExpectMsg<ExperimentFailed>(TimeSpan.FromSeconds(10)).Reason);
        // A resume on purpose clears it and runs to the end.
        idle.Tell(new ResumeExperiment("pause-idle", probe.Ref));
        Assert.Equal(6, Follow(probe).Summary.LastStep);
    }
}
