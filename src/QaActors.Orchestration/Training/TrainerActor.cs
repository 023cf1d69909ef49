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
/// </summary>
public sealed class TrainerActor : ReceiveActor, IWithTimers
{
    private sealed record Initialized(int Epoch, AggregatorState State);
    private sealed record InitFailed(int Epoch, Exception Error);
    private sealed record SamplesReady(int Epoch, long Step, int[] Indices, IReadOnlyList<SampleSet>? Samples, Provenance Provenance);
    private sealed record ProblemsReady(int Epoch, long Step, int[] Indices, Bqm[] Problems);
    private sealed record StepWorkFailed(int Epoch, long Step, Exception Error);
    private sealed record ApplyTimeout(int Epoch);
    private sealed record RetryStep(int Epoch);
    private sealed record PassivateIfIdle;

    private sealed class RefusedException(string reason) : Exception(reason);

    private readonly string _id;
    private readonly TrainerServices _services;
    private readonly TrainerSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ITrainingProcedure? _procedureMemo;

    private IActorRef? _aggregator;
    private int _incarnation;
    private ExperimentSpec? _startSpec;
    private ExperimentSpec? _spec;
    private ITrainingProcedure? _proc;
    private object? _state;
    private long _last;
    private ImmutableArray<StepStats> _history = ImmutableArray<StepStats>.Empty;
    private Provenance _totals = Provenance.Empty;
    private IActorRef? _reportTo;
    private int _epoch;
    private int _attempts;
    private bool _running;
    private long _pauseAfter = long.MaxValue;
    private long _resumedFrom = -1;
    private IActorRef? _sampling;
    private int[]? _pendingIndices;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string experimentId, TrainerServices services) =>
        Akka.Actor.Props.Create(() => new TrainerActor(experimentId, services));

    public TrainerActor(string experimentId, TrainerServices services)
    {
        _id = experimentId;
        _services = services;
        _settings = services.Settings;

        Receive<StartExperiment>(m => Begin(m.Spec, m.ReportTo));
        Receive<ResumeExperiment>(m => Begin(null, m.ReportTo));
        Receive<PauseExperiment>(m => _pauseAfter = m.AfterStep ?? 0);
        Receive<GetExperimentSummary>(_ =>
        {
            if (_running && _spec is not null) Sender.Tell(new ExperimentSummary(_spec, _last, _history, _totals, Running: true));
            else
            {
                EnsureAggregator().Forward(new GetAggregatorSummary());
                // Not at once: the aggregator must answer first, and a `list` may ask again.
                if (_services.PassivateWhenIdle) Timers.StartSingleTimer("passivate", new PassivateIfIdle(), _settings.IdleAfterSummary);
            }
        });
        Receive<PassivateIfIdle>(_ => { if (!_running) Passivate(); });
        Receive<Initialized>(m => { if (m.Epoch == _epoch) OnInitialized(m.State); });
        Receive<InitFailed>(m => { if (m.Epoch == _epoch) Fail($"cannot load experiment: {Unwrap(m.Error).Message}"); });
        Receive<SamplesReady>(m => { if (m.Epoch == _epoch) OnSamplesReady(m); });
        Receive<ProblemsReady>(m => { if (m.Epoch == _epoch) OnProblemsReady(m); });
        Receive<StepSamplesCollected>(m => { if (m.Epoch == _epoch) OnSamplesCollected(m); });
        Receive<StepSamplingFailed>(m =>
        {
            if (m.Epoch != _epoch) return;
            _sampling = null;
            if (m.Refused) Fail(m.Reason);
            else Retry($"step {m.Step}: sampling failed: {m.Reason}", reinit: false);
        });
        Receive<StepWorkFailed>(m => { if (m.Epoch == _epoch) OnStepWorkFailed(m); });
        Receive<StepApplied>(OnStepApplied);
        Receive<StepAlreadyApplied>(m =>
        {
            _log.Info("step {0} of {1} was already applied (last {2}); resynchronising", m.Step, _id, m.LastStep);
            Init();
        });
        Receive<Status.Failure>(f => Retry($"applying the step failed: {Unwrap(f.Cause).Message}", reinit: true));
        Receive<ApplyTimeout>(m =>
        {
            if (m.Epoch != _epoch || _aggregator is null) return;
            _log.Warning("step of {0} not applied within {1}; restarting its aggregator", _id, _settings.ApplyTimeout);
            Context.Stop(_aggregator); // Terminated brings it back from the journal
        });
        Receive<RetryStep>(m => { if (m.Epoch == _epoch) NextStep(); });
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_aggregator)) return;
            _aggregator = null;
            Timers.Cancel("apply");
            if (_running) Retry("the aggregator stopped (journal write failed or timed out)", reinit: true);
        });
    }

    private IActorRef EnsureAggregator()
    {
        if (_aggregator is not null) return _aggregator;
        Func<ExperimentSpec, ITrainingProcedure> memo = spec => _procedureMemo ??= _services.ProcedureFor(spec);
        _aggregator = Context.ActorOf(AggregatorActor.Props(_id, memo, _settings.SnapshotEvery), $"aggregator-{++_incarnation}");
        Context.Watch(_aggregator);
        return _aggregator;
    }

    private void Begin(ExperimentSpec? spec, IActorRef reportTo)
    {
        if (_running)
        {
            reportTo.Tell(new ExperimentFailed(_id, $"experiment '{_id}' is already running"));
            return;
        }
        Timers.Cancel("passivate");
        _startSpec = spec;
        _reportTo = reportTo;
        _running = true;
        _pauseAfter = long.MaxValue;
        _attempts = 0;
        _resumedFrom = -1;
        Init();
    }

    private void Init()
    {
        var epoch = ++_epoch;
        EnsureAggregator().Ask<AggregatorState>(new InitAggregator(_startSpec), _settings.ApplyTimeout)
            .PipeTo(Self, success: s => new Initialized(epoch, s), failure: e => new InitFailed(epoch, e));
    }

    private void OnInitialized(AggregatorState s)
    {
        if (!_running) return;
        _spec = s.Spec;
        _startSpec ??= s.Spec;
        _proc = s.Procedure;
        _state = s.State;
        _last = s.LastStep;
        _history = s.History;
        _totals = s.Totals;
        if (_resumedFrom < 0) _resumedFrom = _last;
        if (_last >= _spec.TotalSteps) Complete();
        else if (_last >= _pauseAfter) Fail("paused");
        else NextStep();
    }

    private void NextStep()
    {
        var epoch = ++_epoch;
        var ctx = new StepContext(epoch, _last + 1, _spec!, _proc!, _state!, _services, Target());
        StepWork(ctx).PipeTo(Self, failure: e => new StepWorkFailed(epoch, ctx.Step, e));
    }

    private IActorRef? Target()
    {
        if (_spec!.Method == "qpu") return _services.GatewayFor(_spec.Solver);
        return _services.SamplerPools.TryGetValue(_spec.Method, out var pool) ? pool : null;
    }

    private sealed record StepContext(int Epoch, long Step, ExperimentSpec Spec, ITrainingProcedure Proc, object State,
        TrainerServices Services, IActorRef? Target);

    /// <summary>The step's batch and, when the method samples, its problems (built by the BQM workers).</summary>
    private static async Task<object> StepWork(StepContext c)
    {
        var indices = c.Proc.BatchIndices(c.Step);
        if (!c.Proc.NeedsSampling) return new SamplesReady(c.Epoch, c.Step, indices, null, Provenance.Empty);
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
        return new ProblemsReady(c.Epoch, c.Step, indices, problems);
    }

    /// <summary>Hands the step's problems to a <see cref="StepSamplingActor"/>, which answers with every example's samples.</summary>
    private void OnProblemsReady(ProblemsReady m)
    {
        var target = Target()!;
        var deadline = DateTimeOffset.UtcNow + _settings.SampleTimeout / 2;
        var qpu = _proc!.QpuSettings;
        var jobs = ImmutableArray.CreateBuilder<SampleJob>(m.Problems.Length);
        for (int i = 0; i < m.Problems.Length; i++)
            jobs.Add(new SampleJob(SampleJob.NextId(), _spec!.User, _id, m.Problems[i], _proc.SampleRequestFor(m.Step, i), _spec.Fallback, deadline, qpu, _proc.ClassicalSettings));
        if (_sampling is not null) Context.Stop(_sampling);
        _sampling = Context.ActorOf(StepSamplingActor.Props(m.Epoch, m.Step, jobs.MoveToImmutable(), target, _spec!.Method == "qpu", _settings.SampleTimeout),
            $"sampling-{m.Epoch}");
        _pendingIndices = m.Indices;
    }

    private void OnSamplesCollected(StepSamplesCollected m)
    {
        _sampling = null;
        OnSamplesReady(new SamplesReady(m.Epoch, m.Step, _pendingIndices!, m.Samples, m.Provenance));
    }

    private void OnSamplesReady(SamplesReady m)
    {
        var agg = EnsureAggregator();
        agg.Tell(new ApplyStep(m.Step, m.Indices, m.Samples, m.Provenance));
        Timers.StartSingleTimer("apply", new ApplyTimeout(_epoch), _settings.ApplyTimeout);
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
        if (!_running || m.Step != _last + 1) return;
        _last = m.Step;
        _state = m.State;
        _totals = m.Totals;
        _history = _history.Add(m.Metrics);
        _attempts = 0;
        _reportTo?.Tell(new StepReport(_id, m.Step, _spec!.TotalSteps, m.Metrics, m.StepProvenance, m.Totals));
        if (_last >= _spec!.TotalSteps) Complete();
        else if (_last >= _pauseAfter) Fail("paused");
        else NextStep();
    }

    private void Retry(string why, bool reinit)
    {
        if (!_running) return;
        _attempts++;
        if (_attempts > _settings.MaxStepAttempts)
        {
            Fail($"{why} (gave up after {_settings.MaxStepAttempts} attempts)");
            return;
        }
        _log.Warning("experiment {0}: {1}; attempt {2} of {3}", _id, why, _attempts, _settings.MaxStepAttempts);
        if (reinit) Init();
        else
        {
            var epoch = ++_epoch;
            Timers.StartSingleTimer("retry", new RetryStep(epoch), TimeSpan.FromMilliseconds(200 * _attempts));
        }
    }

    private void Complete()
    {
        _running = false;
        var summary = new ExperimentSummary(_spec!, _last, _history, _totals, Running: false);
        // The state itself, not its encoding: the caller writes the model file from the state, so encoding its
        // megabytes here would only add to every run's time.
        _reportTo?.Tell(new ExperimentCompleted(summary, _state!, _resumedFrom));
        _reportTo = null;
        Passivate();
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

    private void Fail(string reason)
    {
        _running = false;
        ++_epoch; // ignore whatever is still in flight
        Timers.CancelAll();
        if (_sampling is not null) Context.Stop(_sampling);
        _sampling = null;
        _reportTo?.Tell(new ExperimentFailed(_id, reason));
        _reportTo = null;
        Passivate();
    }

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerException: { } i } ? Unwrap(i) : e;
}
