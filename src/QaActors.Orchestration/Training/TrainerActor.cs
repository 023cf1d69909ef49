using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Persistence;
using QaActors.Sampling;

namespace QaActors.Orchestration.Training;

/// <summary>What a trainer needs from its node: the science, the worker pools and the gateways.</summary>
public sealed class TrainerServices
{
    public required Func<ExperimentSpec, ITrainingProcedure> ProcedureFor { get; init; }
    public required IActorRef BqmWorkers { get; init; }
    public required int BqmWorkerCount { get; init; }
    /// <summary>Classical sampler pools by method name (gibbs, anneal, exact).</summary>
    public required IReadOnlyDictionary<string, IActorRef> SamplerPools { get; init; }
    /// <summary>The gateway (proxy) of a solver, or null if none runs.</summary>
    public required Func<string, IActorRef?> GatewayFor { get; init; }
    public required TrainerSettings Settings { get; init; }
    /// <summary>
    /// True when the trainer is a sharded entity: it then passivates (stops, with its aggregator and the experiment's
    /// state) once its experiment has ended, so a long-lived node does not keep every finished experiment in memory.
    /// </summary>
    public bool PassivateWhenIdle { get; init; }
    /// <summary>
    /// True when the shard remembers its trainers (a long-lived node): a trainer that starts without being asked, as the
    /// shard restores it after its node was lost or the cluster restarted, continues an interrupted run by itself.
    /// </summary>
    public bool ContinueWhenRestored { get; init; }
}

/// <summary>Shard key: the experiment id. The shard count must never change once data exists.</summary>
public sealed class ExperimentMessageExtractor() : HashCodeMessageExtractor(30)
{
    public override string? EntityId(object message) => (message as IWithExperimentId)?.ExperimentId;
}

/// <summary>
/// One per experiment (a sharded entity). Runs the step loop: takes the step's batch, has the BQM
/// workers build its problems, sends every example to sampling (the QPU gateway or a classical pool),
/// hands the samples to its <see cref="AggregatorActor"/> and starts the next step only when that step
/// is applied and persisted. The work of a step runs as a detached task piped back to the actor, so
/// the trainer stays responsive; every ask has a timeout. When the aggregator dies (e.g. a journal
/// write failed) or a step's work fails, the trainer recreates the aggregator, which recovers the last
/// persisted step, and redoes the step: deterministic seeds make the redo identical.
/// <para>
/// Each phase is a behaviour (docs/architecture.md, "Trainer"): Idle → Initializing → Building → Sampling →
/// Applying → (next step: Building, a retry: RetryPending or Initializing) … → Finishing → Idle, or Failed → Idle.
/// A phase accepts only the messages of its own attempt (each attempt has a fresh token, carried by what it
/// sends itself): whatever an abandoned attempt still delivers matches no handler of the current phase and
/// is dropped by <see cref="IgnoreStale"/>.
/// </para>
/// </summary>
public sealed class TrainerActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private sealed record Initialized(int Token, AggregatorState State);
    private sealed record InitFailed(int Token, Exception Error);
    private sealed record SamplesReady(int Token, long Step, int[] Indices, IReadOnlyList<SampleSet>? Samples, Provenance Provenance);
    private sealed record ProblemsReady(int Token, long Step, int[] Indices, Bqm[] Problems);
    private sealed record StepWorkFailed(int Token, long Step, Exception Error);
    private sealed record ApplyTimeout(int Token);
    private sealed record RetryStep(int Token);
    private sealed record FinishTimeout(int Token);
    private sealed record PassivateIfIdle;
    private sealed record WakeCheck;
    private sealed record IntentChecked(int Token, RunIntent Intent);
    private sealed record IntentFailed(int Token, Exception Error);
    private sealed record StopMarked(int Token);

    /// <summary>Who hears of the run; <see cref="Spec"/>: the settings a start asked for (checked once known).</summary>
    private sealed record Listener(IActorRef Ref, bool StateHere, ExperimentSpec? Spec, bool Continue = true);

    private sealed class RefusedException(string reason) : Exception(reason);

    private readonly string _id;
    private readonly TrainerServices _services;
    private readonly TrainerSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private IActorRef? _aggregator;
    private int _incarnation;
    // The token of the current attempt; every phase entered takes a new one.
    private int _token;

    // The run in progress (meaningful outside Idle).
    private ExperimentSpec? _startSpec;
    private readonly List<Listener> _listeners = [];
    private int _attempts;
    private long _pauseAfter = long.MaxValue;
    private long _resumedFrom = -1;
    private bool _clearStop;
    private IActorRef? _sampling;

    // The experiment as of its last persisted step, as the aggregator reported it.
    private ExperimentSpec? _spec;
    private ITrainingProcedure? _proc;
    private object? _state;
    private long _last;
    private ImmutableArray<StepStats> _history = ImmutableArray<StepStats>.Empty;
    private Provenance _totals = Provenance.Empty;

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    // The behaviour the trainer is in, for its log lines.
    private string _phase = "Idle";

    public static Props Props(string experimentId, TrainerServices services) =>
        Akka.Actor.Props.Create(() => new TrainerActor(experimentId, services));

    public TrainerActor(string experimentId, TrainerServices services)
    {
        _id = experimentId;
        _services = services;
        _settings = services.Settings;
        Idle();
    }

    protected override void PreStart()
    {
        // Restored by the shard (or woken by a message, which then decides): see whether a run was interrupted.
        if (_services.ContinueWhenRestored) Self.Tell(new WakeCheck());
    }

    private int NewToken() => ++_token;

    private string NodeAddress => ((ExtendedActorSystem)Context.System).Provider.DefaultAddress.ToString();

    private void Enter(string phase, Action behaviour)
    {
        _phase = phase;
        Become(behaviour);
    }

    // ---- behaviours ----

    /// <summary>No run: starts one, answers summaries from the journal, passivates when asked.</summary>
    private void Idle()
    {
        Receive<StartExperiment>(m => Begin(m.Spec, [new Listener(m.ReportTo, m.StateHere, m.Spec)]));
        Receive<ResumeExperiment>(m => Begin(null, [new Listener(m.ReportTo, m.StateHere, null)]));
        Receive<AttachExperiment>(m => CheckIntent(new Listener(m.ReportTo, m.StateHere, null, m.ContinueInterrupted)));
        Receive<WakeCheck>(_ => CheckIntent(null));
        // Nothing runs; the stop is recorded all the same, so that an interrupted run is not continued (a later start
        // or resume on purpose clears it).
        Receive<PauseExperiment>(RecordPause);
        Receive<GetExperimentSummary>(_ => AnswerSummary());
        Receive<PassivateIfIdle>(_ => Passivate());
        Receive<Terminated>(t => { if (t.ActorRef.Equals(_aggregator)) _aggregator = null; });
        IgnoreStale();
    }

    /// <summary>
    /// A pause without a step stops the run after the step in progress; its stop is recorded at once and the asker told
    /// when it is (a `qa train` interrupted by Ctrl-C waits for that before its process leaves).
    /// </summary>
    private void RecordPause(PauseExperiment m)
    {
        if (m.AfterStep is not null) return;
        var asker = Sender;
        var paused = new ExperimentPaused(_id);
        EnsureAggregator().Ask<RunStopMarked>(new MarkRunStopped("paused"), _settings.AskTimeout)
            .PipeTo(asker, success: _ => paused);
    }

    private void AnswerSummary()
    {
        EnsureAggregator().Forward(new GetAggregatorSummary());
        // Not at once: the aggregator must answer first, and a `list` may ask again.
        IdleTimer();
    }

    private void IdleTimer()
    {
        if (_services.PassivateWhenIdle) Timers.StartSingleTimer("passivate", new PassivateIfIdle(), _settings.IdleAfterSummary);
    }

    /// <summary>
    /// Checking: nothing runs, and someone wants to follow the run (an attach) or the trainer was restored without a
    /// message. The aggregator says, without loading any data, whether a run was interrupted (it then continues) or
    /// ended: finished, or stopped on purpose (docs/architecture.md, "Listeners and node loss").
    /// </summary>
    private void CheckIntent(Listener? first)
    {
        var pending = new List<Listener>();
        if (first is not null) pending.Add(first);
        bool continueIt = first is null || first.Continue;
        long pauseAfter = long.MaxValue;
        int token = NewToken();
        EnsureAggregator().Ask<RunIntent>(new GetRunIntent(), _settings.ApplyTimeout)
            .PipeTo(Self, success: i => new IntentChecked(token, i), failure: e => new IntentFailed(token, e));
        Enter("Checking", () =>
        {
            Receive<IntentChecked>(m => m.Token == token, m =>
            {
                var i = m.Intent;
                if (i.Interrupted && (continueIt || pending.Any(l => l.Continue)))
                {
                    _log.Info("experiment {0} was interrupted at step {1} of {2}; continuing", _id, i.LastStep, i.TotalSteps);
                    Begin(null, pending, pauseAfter, clearStop: false);
                    return;
                }
                object answer = !i.Exists ? new ExperimentFailed(_id, $"experiment '{_id}' does not exist")
                    : i.Summary is { Completed: true } done ? new ExperimentCompleted(done, done.LastStep)
                    : new ExperimentFailed(_id, i.StoppedReason ?? ExperimentRunner.InterruptedReason);
                foreach (var l in pending) l.Ref.Tell(answer);
                Enter("Idle", Idle);
                IdleTimer();
            });
            Receive<IntentFailed>(m => m.Token == token, m =>
            {
                foreach (var l in pending) l.Ref.Tell(new ExperimentFailed(_id, $"cannot load experiment: {Unwrap(m.Error).Message}"));
                Enter("Idle", Idle);
                IdleTimer();
            });
            Receive<StartExperiment>(m => Begin(m.Spec, [new Listener(m.ReportTo, m.StateHere, m.Spec), .. pending], pauseAfter));
            Receive<ResumeExperiment>(m => Begin(null, [new Listener(m.ReportTo, m.StateHere, null), .. pending], pauseAfter));
            Receive<AttachExperiment>(m =>
            {
                pending.Add(new Listener(m.ReportTo, m.StateHere, null, m.ContinueInterrupted));
                continueIt |= m.ContinueInterrupted;
            });
            Receive<WakeCheck>(_ => continueIt = true);
            Receive<PauseExperiment>(m =>
            {
                pauseAfter = m.AfterStep ?? 0;
                RecordPause(m);
            });
            Receive<GetExperimentSummary>(_ => AnswerSummary());
            Receive<PassivateIfIdle>(_ => { });
            Receive<Terminated>(t => { if (t.ActorRef.Equals(_aggregator)) _aggregator = null; });
            IgnoreStale();
        });
    }

    /// <summary>What every phase of a run answers besides its own messages (registered after them).</summary>
    private void WhileRunning()
    {
        Receive<StartExperiment>(m => Attach(new Listener(m.ReportTo, m.StateHere, m.Spec)));
        Receive<ResumeExperiment>(m => Attach(new Listener(m.ReportTo, m.StateHere, null)));
        Receive<AttachExperiment>(m => Attach(new Listener(m.ReportTo, m.StateHere, null)));
        Receive<WakeCheck>(_ => { });
        Receive<PauseExperiment>(m =>
        {
            _pauseAfter = m.AfterStep ?? 0;
            RecordPause(m);
        });
        Receive<GetExperimentSummary>(_ =>
        {
            if (_spec is not null) Sender.Tell(new ExperimentSummary(_spec, _last, _history, _totals, Running: true, RunningOn: NodeAddress));
            else EnsureAggregator().Forward(new GetAggregatorSummary());
        });
        Receive<PassivateIfIdle>(_ => { });
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_aggregator))
            {
                _listeners.RemoveAll(l => l.Ref.Equals(t.ActorRef)); // a listener (or its node) went away; the run goes on
                return;
            }
            _aggregator = null;
            Timers.Cancel("apply");
            Retry("the aggregator stopped (journal write failed or timed out)", reinit: true);
        });
        IgnoreStale();
    }

    /// <summary>Messages of an abandoned attempt (or of an aggregator incarnation that is gone): dropped.</summary>
    private void IgnoreStale()
    {
        Receive<Initialized>(_ => { });
        Receive<InitFailed>(_ => { });
        Receive<SamplesReady>(_ => { });
        Receive<ProblemsReady>(_ => { });
        Receive<StepWorkFailed>(_ => { });
        Receive<ApplyTimeout>(_ => { });
        Receive<RetryStep>(_ => { });
        Receive<FinishTimeout>(_ => { });
        Receive<StepSamplesCollected>(_ => { });
        Receive<StepSamplingFailed>(_ => { });
        Receive<IntentChecked>(_ => { });
        Receive<IntentFailed>(_ => { });
        Receive<StopMarked>(_ => { });
        Receive<StepApplied>(_ => { });
        Receive<StepAlreadyApplied>(_ => { });
        Receive<ExperimentFinished>(_ => { });
        Receive<Status.Failure>(_ => { });
    }

    private void Begin(ExperimentSpec? spec, IReadOnlyList<Listener> listeners, long pauseAfter = long.MaxValue, bool clearStop = true)
    {
        Timers.Cancel("passivate");
        _startSpec = spec;
        // A start or resume on purpose clears a recorded stop; continuing an interrupted run has none to clear.
        _clearStop = clearStop;
        _listeners.Clear();
        _spec = null;
        foreach (var l in listeners) Attach(l);
        _pauseAfter = pauseAfter;
        _attempts = 0;
        _resumedFrom = -1;
        Init();
    }

    /// <summary>
    /// Adds a listener to the run (told so with <see cref="ExperimentAttached"/>, which it watches the trainer by); a start
    /// with other settings than the running experiment's is refused instead. Its settings are checked here when the
    /// experiment is known, else once the aggregator has loaded it.
    /// </summary>
    private void Attach(Listener l)
    {
        if (_spec is not null && OtherSettings(l) is { } why)
        {
            RefuseOtherSettings(l, why);
            return;
        }
        if (_listeners.Any(x => x.Ref.Equals(l.Ref))) _listeners.RemoveAll(x => x.Ref.Equals(l.Ref));
        // Only a listener in this process may receive the final state itself.
        _listeners.Add(l with { StateHere = l.StateHere && l.Ref.Path.Address.HasLocalScope });
        Context.Watch(l.Ref);
        l.Ref.Tell(new ExperimentAttached(_id, _last));
    }

    /// <summary>Why a listener's start asked for another experiment than the one known (<see cref="_spec"/>), or null.</summary>
    private string? OtherSettings(Listener l) => l.Spec is null ? null : AggregatorActor.Incompatible(_spec!, l.Spec);

    private void RefuseOtherSettings(Listener l, string why) =>
        l.Ref.Tell(new ExperimentFailed(_id, $"experiment '{_id}' is already running with different settings ({why}); use another --out or follow it as it is"));

    private void Tell(object message)
    {
        foreach (var l in _listeners) l.Ref.Tell(message);
    }

    /// <summary>Initializing: the aggregator creates or recovers the experiment and reports its last persisted step.</summary>
    private void Init()
    {
        StopSampling();
        int token = NewToken();
        // Only the run's first initialization clears a stop: a pause recorded since must survive the re-initialization
        // of a retry.
        bool clear = _clearStop;
        _clearStop = false;
        EnsureAggregator().Ask<AggregatorState>(new InitAggregator(_startSpec, clear), _settings.ApplyTimeout)
            .PipeTo(Self, success: s => new Initialized(token, s), failure: e => new InitFailed(token, e));
        Enter("Initializing", () =>
        {
            Receive<Initialized>(m => m.Token == token, m => OnInitialized(m.State));
            Receive<InitFailed>(m => m.Token == token, m => Fail($"cannot load experiment: {Unwrap(m.Error).Message}"));
            WhileRunning();
        });
    }

    private void OnInitialized(AggregatorState s)
    {
        _spec = s.Spec;
        _startSpec ??= s.Spec;
        // Starts that arrived before the experiment was known: refused now if they asked for other settings.
        foreach (var (l, why) in _listeners.Select(l => (l, OtherSettings(l))).Where(x => x.Item2 is not null).ToList())
        {
            _listeners.Remove(l);
            Context.Unwatch(l.Ref);
            RefuseOtherSettings(l, why!);
        }
        _proc = s.Procedure;
        _state = s.State;
        _last = s.LastStep;
        _history = s.History;
        _totals = s.Totals;
        if (_resumedFrom < 0) _resumedFrom = _last;
        Continue();
    }

    /// <summary>After a persisted step: finish, stop for a pause, or build the next step.</summary>
    private void Continue()
    {
        if (_last >= _spec!.TotalSteps) Finish();
        else if (_last >= _pauseAfter) Fail("paused");
        else NextStep();
    }

    /// <summary>Building: the step's batch and, when the method samples, its problems (on the BQM workers).</summary>
    private void NextStep()
    {
        int token = NewToken();
        long step = _last + 1;
        var ctx = new StepContext(token, step, _spec!, _proc!, _state!, _services, Target());
        StepWork(ctx).PipeTo(Self, failure: e => new StepWorkFailed(token, step, e));
        Enter("Building", () =>
        {
            Receive<ProblemsReady>(m => m.Token == token, StartSampling);
            Receive<SamplesReady>(m => m.Token == token, Apply);
            Receive<StepWorkFailed>(m => m.Token == token, OnStepWorkFailed);
            WhileRunning();
        });
    }

    private IActorRef? Target()
    {
        if (_spec!.Method == "qpu") return _services.GatewayFor(_spec.Solver);
        return _services.SamplerPools.TryGetValue(_spec.Method, out var pool) ? pool : null;
    }

    private sealed record StepContext(int Token, long Step, ExperimentSpec Spec, ITrainingProcedure Proc, object State,
        TrainerServices Services, IActorRef? Target);

    /// <summary>The step's batch and, when the method samples, its problems (built by the BQM workers).</summary>
    private static async Task<object> StepWork(StepContext c)
    {
        var indices = c.Proc.BatchIndices(c.Step);
        if (!c.Proc.NeedsSampling) return new SamplesReady(c.Token, c.Step, indices, null, Provenance.Empty);
        if (c.Target is null)
            throw new RefusedException(c.Spec.Method == "qpu"
                ? $"no QPU gateway runs for solver '{c.Spec.Solver}'"
                : $"no sampler pool runs for method '{c.Spec.Method}'");
        var s = c.Services.Settings;
        int n = indices.Length;
        int chunks = Math.Clamp(c.Services.BqmWorkerCount, 1, n);
        var builds = new Task<ProblemsBuilt>[chunks];
        for (int k = 0; k < chunks; k++)
        {
            int offset = (int)((long)k * n / chunks), end = (int)((long)(k + 1) * n / chunks);
            builds[k] = c.Services.BqmWorkers.Ask<ProblemsBuilt>(new BuildProblems(c.Proc, c.State, c.Step, indices, offset, end - offset), s.BuildTimeout);
        }
        var problems = new Bqm[n];
        foreach (var b in await Task.WhenAll(builds).ConfigureAwait(false))
            Array.Copy(b.Problems, 0, problems, b.Offset, b.Problems.Length);
        return new ProblemsReady(c.Token, c.Step, indices, problems);
    }

    /// <summary>
    /// Sampling: a <see cref="StepSamplingActor"/> (a child per attempt) collects every example's samples.
    /// </summary>
    private void StartSampling(ProblemsReady m)
    {
        var target = Target()!;
        var deadline = DateTimeOffset.UtcNow + _settings.SampleTimeout / 2;
        var qpu = _proc!.QpuSettings;
        // The variables the step reads: the samplers reply with only those columns (remote-safe sizes).
        ImmutableArray<int>? keep = _proc.ReplyLabels is { } labels ? labels.ToImmutableArray() : null;
        var jobs = ImmutableArray.CreateBuilder<SampleJob>(m.Problems.Length);
        for (int i = 0; i < m.Problems.Length; i++)
            jobs.Add(new SampleJob(SampleJob.NextId(), _spec!.User, _id, m.Problems[i], _proc.SampleRequestFor(m.Step, i), _spec.Fallback, deadline, qpu, _proc.ClassicalSettings, keep));
        StopSampling();
        _sampling = Context.ActorOf(StepSamplingActor.Props(m.Token, m.Step, jobs.MoveToImmutable(), target, _spec!.Method == "qpu", _settings.SampleTimeout),
            $"sampling-{m.Token}");
        Enter("Sampling", () =>
        {
            Receive<StepSamplesCollected>(c => c.Token == m.Token, c =>
            {
                _sampling = null;
                Apply(new SamplesReady(c.Token, c.Step, m.Indices, c.Samples, c.Provenance));
            });
            Receive<StepSamplingFailed>(f => f.Token == m.Token, f =>
            {
                _sampling = null;
                if (f.Refused) Fail(f.Reason);
                else Retry($"step {f.Step}: sampling failed: {f.Reason}", reinit: false);
            });
            WhileRunning();
        });
    }

    /// <summary>Applying: the aggregator computes, persists and confirms the step (or the apply timer restarts it).</summary>
    private void Apply(SamplesReady m)
    {
        int token = m.Token;
        EnsureAggregator().Tell(new ApplyStep(m.Step, m.Indices, m.Samples, m.Provenance));
        Timers.StartSingleTimer("apply", new ApplyTimeout(token), _settings.ApplyTimeout);
        Enter("Applying", () =>
        {
            Receive<StepApplied>(a => a.Step == m.Step, OnStepApplied);
            Receive<StepAlreadyApplied>(a =>
            {
                Timers.Cancel("apply");
                _log.Info("step {0} of {1} was already applied (last {2}); resynchronising", a.Step, _id, a.LastStep);
                Init();
            });
            Receive<Status.Failure>(f =>
            {
                Timers.Cancel("apply");
                Retry($"applying the step failed: {Unwrap(f.Cause).Message}", reinit: true);
            });
            Receive<ApplyTimeout>(t => t.Token == token && _aggregator is not null, _ =>
            {
                _log.Warning("step of {0} not applied within {1}; restarting its aggregator", _id, _settings.ApplyTimeout);
                Context.Stop(_aggregator!); // Terminated brings it back from the journal
            });
            WhileRunning();
        });
    }

    private void OnStepWorkFailed(StepWorkFailed m)
    {
        var e = Unwrap(m.Error);
        if (e is RefusedException) { Fail(e.Message); return; }
        Retry($"step {m.Step}: {e.GetType().Name}: {e.Message}", reinit: false);
    }

    private void OnStepApplied(StepApplied m)
    {
        Timers.Cancel("apply");
        _last = m.Step;
        _state = m.State;
        _totals = m.Totals;
        _history = _history.Add(m.Metrics);
        _attempts = 0;
        Tell(new StepReport(_id, m.Step, _spec!.TotalSteps, m.Metrics, m.StepProvenance, m.Totals));
        Continue();
    }

    /// <summary>Another attempt at the step: at once after re-initializing, or (RetryPending) after a growing pause.</summary>
    private void Retry(string why, bool reinit)
    {
        _attempts++;
        if (_attempts > _settings.MaxStepAttempts)
        {
            Fail($"{why} (gave up after {_settings.MaxStepAttempts} attempts)");
            return;
        }
        _log.Warning("experiment {0} ({1}): {2}; attempt {3} of {4}", _id, _phase, why, _attempts, _settings.MaxStepAttempts);
        if (reinit)
        {
            Init();
            return;
        }
        StopSampling();
        int token = NewToken();
        Timers.StartSingleTimer("retry", new RetryStep(token), TimeSpan.FromMilliseconds(200 * _attempts));
        Enter("RetryPending", () =>
        {
            Receive<RetryStep>(r => r.Token == token, _ => NextStep());
            WhileRunning();
        });
    }

    /// <summary>
    /// Finishing: every step is persisted; the aggregator makes sure a snapshot of the final state is stored, so whoever
    /// needs the model reads it from the journal at once (the completion message carries only the summary). Should it
    /// not confirm in time, the run is complete all the same: the journal's events give the same state.
    /// </summary>
    private void Finish()
    {
        if (_listeners.Count > 0 && _listeners.All(l => l.StateHere))
        {
            // The listener shares this process: it gets the state itself, and the final snapshot is written meanwhile
            // (for later readers; the journal's events give the same state should it not be).
            EnsureAggregator().Tell(new FinishExperiment(_last));
            Completed();
            return;
        }
        int token = NewToken();
        EnsureAggregator().Tell(new FinishExperiment(_last));
        Timers.StartSingleTimer("finish", new FinishTimeout(token), _settings.ApplyTimeout);
        Enter("Finishing", () =>
        {
            Receive<ExperimentFinished>(f => f.Step == _last, _ => Completed());
            Receive<FinishTimeout>(t => t.Token == token, _ =>
            {
                _log.Warning("experiment {0}: the final snapshot was not confirmed within {1}; the model is read from its events", _id, _settings.ApplyTimeout);
                Completed();
            });
            Receive<Terminated>(t => t.ActorRef.Equals(_aggregator), _ =>
            {
                _aggregator = null;
                Completed();
            });
            WhileRunning();
        });
    }

    /// <summary>Reports the end; with the state to each listener that asked for it and shares this process.</summary>
    private void Completed()
    {
        Timers.Cancel("finish");
        NewToken();
        // The node that ran its last step: a campaign records it, to show how its experiments spread over the cluster.
        var done = new ExperimentCompleted(new ExperimentSummary(_spec!, _last, _history, _totals, Running: false, RunningOn: NodeAddress), _resumedFrom);
        foreach (var l in _listeners) l.Ref.Tell(l.StateHere ? new ExperimentCompletedHere(done, _state!) : done);
        ForgetListeners();
        Enter("Idle", Idle);
        Passivate();
    }

    private void ForgetListeners()
    {
        foreach (var l in _listeners) Context.Unwatch(l.Ref);
        _listeners.Clear();
    }

    /// <summary>
    /// Failed (or paused): the run ends, what is persisted stays, whatever is still in flight is ignored. Stopping: the
    /// aggregator records that the run was stopped on purpose before the trainer goes, so that no restart after node
    /// loss continues it; a start or resume that arrives meanwhile waits for that and then begins afresh.
    /// </summary>
    private void Fail(string reason)
    {
        int token = NewToken();
        Timers.CancelAll();
        StopSampling();
        Tell(new ExperimentFailed(_id, reason));
        ForgetListeners();
        if (_aggregator is null && _spec is null)
        {
            Enter("Idle", Idle);
            Passivate();
            return;
        }
        EnsureAggregator().Ask<RunStopMarked>(new MarkRunStopped(reason), _settings.ApplyTimeout)
            .PipeTo(Self, success: _ => new StopMarked(token), failure: _ => new StopMarked(token));
        Enter("Stopping", () =>
        {
            Receive<StopMarked>(m => m.Token == token, _ =>
            {
                Enter("Idle", Idle);
                if (Stash.IsEmpty) Passivate();
                else Stash.UnstashAll();
            });
            Receive<StartExperiment>(_ => Stash.Stash());
            Receive<ResumeExperiment>(_ => Stash.Stash());
            Receive<AttachExperiment>(_ => Stash.Stash());
            Receive<GetExperimentSummary>(_ => EnsureAggregator().Forward(new GetAggregatorSummary()));
            Receive<PauseExperiment>(_ => { });
            Receive<WakeCheck>(_ => { });
            Receive<PassivateIfIdle>(_ => { });
            Receive<Terminated>(t => { if (t.ActorRef.Equals(_aggregator)) { _aggregator = null; Self.Tell(new StopMarked(token)); } });
            IgnoreStale();
        });
    }

    private void StopSampling()
    {
        if (_sampling is not null) Context.Stop(_sampling);
        _sampling = null;
    }

    private IActorRef EnsureAggregator()
    {
        if (_aggregator is not null) return _aggregator;
        // A later incarnation gets the procedure its predecessor built (the data are loaded once per trainer) as a value
        // captured here: the aggregator calls the factory on its own thread, so it must not write this actor's fields.
        var known = _proc;
        Func<ExperimentSpec, ITrainingProcedure> procedureFor = known is null ? _services.ProcedureFor : _ => known;
        _aggregator = Context.ActorOf(AggregatorActor.Props(_id, procedureFor, _settings.SnapshotEvery), $"aggregator-{++_incarnation}");
        Context.Watch(_aggregator);
        return _aggregator;
    }

    /// <summary>
    /// Asks the shard to stop this entity (messages that arrive meanwhile are kept and start a new incarnation, which
    /// recovers from the journal). Everything of the experiment is persisted by now; what goes is memory.
    /// </summary>
    private void Passivate()
    {
        if (!_services.PassivateWhenIdle) return;
        Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerException: { } i } ? Unwrap(i) : e;
}
