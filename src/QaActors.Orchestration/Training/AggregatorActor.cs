using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Training;

/// <summary>
/// One per experiment, persistent (id "experiment-{id}"). Combines a step's samples into the gradient,
/// applies the optimiser (through the procedure) and persists the checkpoint of the step (state bytes,
/// RNG state, metrics, provenance) before anyone hears of it; a snapshot every N steps, after which
/// older events and snapshots are deleted. Exactly once: step s is applied only when s = last persisted
/// step + 1; a repeated step is answered with <see cref="StepAlreadyApplied"/> and changes nothing. If
/// a write fails the actor stops (Akka.Persistence), and the state it had computed in memory is gone
/// with it: the trainer recreates it, it recovers the last persisted step, and the step is redone.
/// </summary>
public sealed class AggregatorActor : ReceivePersistentActor
{
    private readonly string _experimentId;
    private readonly Func<ExperimentSpec, ITrainingProcedure> _procedureFor;
    private readonly int _snapshotEvery;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private ExperimentSpec? _spec;
    private StepCheckpoint? _last;
    // Steps replayed or applied after _last (whose state lives only in _state): the journal holds them as StepReplay.
    private long _lastStep;
    private ImmutableArray<StepStats> _history = ImmutableArray<StepStats>.Empty;
    private Provenance _totals = Provenance.Empty;
    private ITrainingProcedure? _procedure;
    private object? _state;

    public override string PersistenceId { get; }

    public static string PersistenceIdOf(string experimentId) => "experiment-" + experimentId;

    public static Props Props(string experimentId, Func<ExperimentSpec, ITrainingProcedure> procedureFor, int snapshotEvery) =>
        Akka.Actor.Props.Create(() => new AggregatorActor(experimentId, procedureFor, snapshotEvery));

    public AggregatorActor(string experimentId, Func<ExperimentSpec, ITrainingProcedure> procedureFor, int snapshotEvery)
    {
        _experimentId = experimentId;
        _procedureFor = procedureFor;
        _snapshotEvery = snapshotEvery;
        PersistenceId = PersistenceIdOf(experimentId);

        Recover<SnapshotOffer>(o =>
        {
            var s = (ExperimentSnapshot)o.Snapshot;
            _spec = s.Spec;
            _last = s.Last;
            _lastStep = s.Last?.Step ?? 0;
            _history = s.History;
            _totals = s.Totals;
        });
        Recover<ExperimentCreated>(e => _spec = e.Spec);
        Recover<StepCheckpoint>(Apply);
        Recover<StepReplay>(Replay);

        Command<InitAggregator>(OnInit);
        Command<ApplyStep>(OnApply);
        Command<GetAggregatorSummary>(_ =>
        {
            if (_spec is null) Sender.Tell(new Status.Failure(new KeyNotFoundException($"experiment '{_experimentId}' does not exist")));
            else Sender.Tell(new ExperimentSummary(_spec, LastStep, _history, _totals, Running: false));
        });
        Command<GetFinalState>(_ =>
        {
            try
            {
                var st = EnsureState();
                Sender.Tell(new FinalState(st, _procedure!.SaveState(st)));
            }
            catch (Exception e) { Sender.Tell(new Status.Failure(e)); }
        });
        Command<SaveSnapshotSuccess>(s =>
        {
            DeleteMessages(s.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => _log.Warning("snapshot of {0} failed (events are kept): {1}", _experimentId, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("deleting old events of {0} failed: {1}", _experimentId, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    /// <summary>
    /// A rejected write leaves the actor running by default; here it stops like a failed write, so the
    /// trainer brings a fresh incarnation back from the journal and redoes the step.
    /// </summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        Context.Stop(Self);
    }

    private long LastStep => _lastStep;

    private void Apply(StepCheckpoint c)
    {
        _last = c;
        _lastStep = c.Step;
        _history = _history.Add(c.Metrics);
        _totals = _totals.Add(c.Provenance);
        _state = null; // a live state, if any, is older than this checkpoint
    }

    /// <summary>Recovery of a light step: recompute it from the state before it and the samples it used.</summary>
    private void Replay(StepReplay e)
    {
        var st = EnsureState();
        if (e.Step != _lastStep + 1) throw new InvalidOperationException($"journal of '{_experimentId}' replays step {e.Step} after step {_lastStep}");
        var samples = e.Samples.IsDefaultOrEmpty && !_procedure!.NeedsSampling ? null : FromReplay(e.Samples);
        _state = _procedure!.Apply(st, e.Step, _procedure.BatchIndices(e.Step), samples).State;
        Applied(e.Step, e.Metrics, e.Provenance);
    }

    private void Applied(long step, StepStats metrics, Provenance provenance)
    {
        _lastStep = step;
        _history = _history.Add(metrics);
        _totals = _totals.Add(provenance);
    }

    private static ImmutableArray<ReplaySamples> ToReplay(IReadOnlyList<Sampling.SampleSet>? sets) =>
        sets is null ? ImmutableArray<ReplaySamples>.Empty
            : sets.Select(x => new ReplaySamples(x.Variables.ToArray(), x.Vartype == Sampling.Vartype.Spin, x.Samples.ToArray(), x.NumOccurrences.ToArray())).ToImmutableArray();

    private static IReadOnlyList<Sampling.SampleSet> FromReplay(ImmutableArray<ReplaySamples> r) =>
        r.Select(x => new Sampling.SampleSet(x.Spin ? Sampling.Vartype.Spin : Sampling.Vartype.Binary, x.Variables, x.Values,
            new double[x.Counts.Length], x.Counts, Sampling.SampleInfo.For("replay"))).ToArray();

    private object EnsureState()
    {
        if (_spec is null) throw new KeyNotFoundException($"experiment '{_experimentId}' does not exist");
        _procedure ??= _procedureFor(_spec);
        if (_state is null && _last is not null && _last.Step != _lastStep)
            throw new InvalidOperationException($"experiment '{_experimentId}': the state after step {_lastStep} is not in memory and the last full checkpoint is step {_last.Step}");
        _state ??= _last is not null ? _procedure.RestoreState(_last.State)
            : throw new InvalidOperationException($"experiment '{_experimentId}' has no checkpoint 0 in the journal");
        return _state;
    }

    private void OnInit(InitAggregator init)
    {
        var sender = Sender;
        if (_spec is null)
        {
            if (init.Spec is null)
            {
                sender.Tell(new Status.Failure(new KeyNotFoundException($"experiment '{_experimentId}' does not exist; start it with `qa train`")));
                return;
            }
            if (init.Spec.ExperimentId != _experimentId)
            {
                sender.Tell(new Status.Failure(new ArgumentException($"spec is for '{init.Spec.ExperimentId}', not '{_experimentId}'")));
                return;
            }
            // The experiment starts with checkpoint 0 (the initial state and its metrics), so every later
            // recovery restores a persisted state and the history always begins at step 0.
            var spec = init.Spec;
            ITrainingProcedure proc;
            object st;
            StepCheckpoint c0;
            try
            {
                proc = _procedureFor(spec);
                st = proc.InitialState();
                c0 = new StepCheckpoint(0, proc.SaveState(st), proc.RngState(st),
                    new StepStats(0, proc.InitialMetrics(st).ToImmutableArray()), Provenance.Empty);
            }
            catch (Exception e)
            {
                sender.Tell(new Status.Failure(new InvalidOperationException($"cannot create experiment '{_experimentId}': {e.Message}", e)));
                return;
            }
            PersistAll(new IPersisted[] { new ExperimentCreated(spec), c0 }, e =>
            {
                if (e is ExperimentCreated created) { _spec = created.Spec; return; }
                Apply((StepCheckpoint)e);
                _procedure = proc;
                _state = st;
                ReplyState(sender);
            });
            return;
        }
        if (init.Spec is not null && Incompatible(_spec, init.Spec) is { } why)
        {
            sender.Tell(new Status.Failure(new InvalidOperationException(
                $"experiment '{_experimentId}' already exists with different settings ({why}); use another --out or resume it as it is")));
            return;
        }
        ReplyState(sender);
    }

    private static string? Incompatible(ExperimentSpec a, ExperimentSpec b)
    {
        if (a.Method != b.Method) return $"method {a.Method} vs {b.Method}";
        if (a.Seed != b.Seed) return $"seed {a.Seed} vs {b.Seed}";
        if (a.TotalSteps != b.TotalSteps) return $"steps {a.TotalSteps} vs {b.TotalSteps}";
        if (a.ConfigJson != b.ConfigJson) return "training configuration differs";
        if (a.TaskJson != b.TaskJson) return "data task differs";
        return null;
    }

    private void ReplyState(IActorRef sender)
    {
        try
        {
            var st = EnsureState();
            sender.Tell(new AggregatorState(_spec!, _procedure!, st, LastStep, _history, _totals));
        }
        catch (Exception e)
        {
            sender.Tell(new Status.Failure(new InvalidOperationException($"cannot prepare experiment '{_experimentId}': {e.Message}", e)));
        }
    }

    private void OnApply(ApplyStep a)
    {
        var sender = Sender;
        if (a.Step <= LastStep)
        {
            sender.Tell(new StepAlreadyApplied(a.Step, LastStep));
            return;
        }
        if (a.Step != LastStep + 1)
        {
            sender.Tell(new Status.Failure(new InvalidOperationException($"step {a.Step} cannot follow step {LastStep}")));
            return;
        }
        object next;
        IPersisted record;
        try
        {
            var st = EnsureState();
            var outcome = _procedure!.Apply(st, a.Step, a.BatchIndices, a.Samples);
            next = outcome.State;
            var metrics = new StepStats(a.Step, outcome.Metrics.ToImmutableArray());
            // A full checkpoint (megabytes) only where a snapshot is taken and at the end; other steps persist what
            // replays them exactly (kilobytes), which keeps a step's journal write far below its compute.
            bool full = a.Step % _snapshotEvery == 0 || a.Step >= _spec!.TotalSteps;
            record = full
                ? new StepCheckpoint(a.Step, _procedure.SaveState(next), _procedure.RngState(next), metrics, a.Provenance)
                : new StepReplay(a.Step, ToReplay(_procedure.ReduceForReplay(a.Samples)), metrics, a.Provenance);
            // From here the in-memory state is ahead of the journal; it is only kept if the write succeeds.
            _state = null;
        }
        catch (Exception e)
        {
            sender.Tell(new Status.Failure(new InvalidOperationException($"step {a.Step} of '{_experimentId}' failed: {e.Message}", e)));
            // The state may have been modified in place, and steps since the last full checkpoint live only in memory:
            // stop, so the trainer brings back an incarnation recovered from the journal.
            Context.Stop(Self);
            return;
        }
        Persist(record, r =>
        {
            StepStats metrics;
            Provenance provenance;
            if (r is StepCheckpoint c)
            {
                Apply(c);
                if (c.Step % _snapshotEvery == 0) SaveSnapshot(new ExperimentSnapshot(_spec!, c, _history, _totals));
                (metrics, provenance) = (c.Metrics, c.Provenance);
            }
            else
            {
                var e = (StepReplay)r;
                Applied(e.Step, e.Metrics, e.Provenance);
                (metrics, provenance) = (e.Metrics, e.Provenance);
            }
            _state = next;
            sender.Tell(new StepApplied(a.Step, metrics, provenance, _totals, next));
        });
    }
}
