using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Training;

/// <summary>
/// One per experiment, persistent (id "experiment-{id}"). Combines a step's samples into the gradient,
/// applies the optimiser (through the procedure) and persists the step before anyone hears of it.
/// What is persisted per step is what determines it, not the state it produces: the step's reduced samples,
/// metrics and provenance (<see cref="StepReplay"/>, kilobytes), from which recovery recomputes the state
/// bit for bit. The full state (megabytes) goes only into a snapshot every N steps, written in the background
/// while the next step samples; after it, older events and snapshots are deleted. Step 0 is the initial
/// state, which derives from the experiment's seed alone, so creating an experiment writes no state either.
/// Recovery is lazy: the replays are computed only when the state is needed (a step, the final model), so
/// `experiment list/show` read the journal without loading any data.
/// Exactly once: step s is applied only when s = last persisted step + 1; a repeated step is answered with
/// <see cref="StepAlreadyApplied"/> and changes nothing. If a write fails the actor stops (Akka.Persistence),
/// and the state it had computed in memory is gone with it: the trainer recreates it, it recovers the last
/// persisted step, and the step is redone.
/// </summary>
public sealed class AggregatorActor : ReceivePersistentActor
{
    private readonly string _experimentId;
    private readonly Func<ExperimentSpec, ITrainingProcedure> _procedureFor;
    private readonly int _snapshotEvery;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private ExperimentSpec? _spec;
    // The state at _lastStep, when computed. When null, _base (a full state; null = the initial state) followed by
    // _pending (the steps after it, in order) describe it.
    private object? _state;
    private StepCheckpoint? _base;
    private readonly List<StepReplay> _pending = [];
    private long _lastStep;
    private ImmutableArray<StepStats> _history = ImmutableArray<StepStats>.Empty;
    private Provenance _totals = Provenance.Empty;
    private Provenance _lastProvenance = Provenance.Empty; // of step _lastStep (a snapshot records it)
    private ITrainingProcedure? _procedure;
    private string? _damage;
    // Why the run was stopped on purpose, or null while it may run (docs/architecture.md, "Listeners and node loss").
    // A snapshot is only written while running or at the end, so one being recovered means "not stopped".
    private string? _stopped;
    // Sequence numbers of the newest snapshot stored and of the newest one asked for; who waits for the final one.
    private long _snapshotStored = -1;
    private long _snapshotAsked = -1;
    // The step of the newest snapshot stored or asked for (0: none, the state derives from the seed).
    private long _snapshotStep;
    // A run that ends fewer steps than this after its last snapshot keeps its events instead of a final snapshot.
    private readonly long _finalSnapshotAfter;
    private (IActorRef Who, long Step)? _finishing;

    public override string PersistenceId { get; }

    public static string PersistenceIdOf(string experimentId) => "experiment-" + experimentId;

    public static Props Props(string experimentId, Func<ExperimentSpec, ITrainingProcedure> procedureFor, int snapshotEvery) =>
        Akka.Actor.Props.Create(() => new AggregatorActor(experimentId, procedureFor, snapshotEvery));

    public AggregatorActor(string experimentId, Func<ExperimentSpec, ITrainingProcedure> procedureFor, int snapshotEvery)
    {
        _experimentId = experimentId;
        _procedureFor = procedureFor;
        _snapshotEvery = snapshotEvery;
        _finalSnapshotAfter = Math.Max(1, snapshotEvery / 2);
        PersistenceId = PersistenceIdOf(experimentId);

        // A record that fails its checksum stops recovery there: nothing after it is applied, and every request is
        // refused naming the experiment and the step, rather than resume into a different model.
        Recover<object>(_ => _damage is not null, _ => { });
        Recover<DamagedRecord>(d => _damage = Damage(d, _spec is null ? "the record that creates it" : $"step {_lastStep + 1}"));
        Recover<SnapshotOffer>(o => o.Snapshot is DamagedRecord, o =>
        {
            var d = (DamagedRecord)o.Snapshot;
            _damage = Damage(d, d.ClaimedStep is long step ? $"the snapshot of step {step}" : "its snapshot");
        });
        Command<object>(m => _damage is not null && m is InitAggregator or ApplyStep or GetAggregatorSummary or GetFinalState or FinishExperiment or GetRunIntent or MarkRunStopped,
            _ => Sender.Tell(new Status.Failure(new InvalidDataException(_damage))));
        Recover<SnapshotOffer>(o =>
        {
            var s = (ExperimentSnapshot)o.Snapshot;
            _snapshotStored = o.Metadata.SequenceNr;
            _spec = s.Spec;
            Rebase(s.Last);
            _lastStep = s.Last?.Step ?? 0;
            _snapshotStep = _lastStep;
            _history = s.History;
            _totals = s.Totals;
            _lastProvenance = s.Last?.Provenance ?? Provenance.Empty;
            _stopped = null;
        });
        Recover<ExperimentCreated>(e => _spec = e.Spec);
        Recover<RunStopped>(e => _stopped = e.Reason);
        Recover<RunResumed>(_ => _stopped = null);
        // Journals written before step-replay.v1 hold a full checkpoint per step (and step 0).
        Recover<StepCheckpoint>(c =>
        {
            Rebase(c);
            Applied(c.Step, c.Metrics, c.Provenance);
        });
        Recover<StepReplay>(Replayed);

        Command<InitAggregator>(OnInit);
        Command<ApplyStep>(OnApply);
        Command<GetAggregatorSummary>(_ =>
        {
            if (_spec is null) Sender.Tell(new Status.Failure(new KeyNotFoundException($"experiment '{_experimentId}' does not exist")));
            else Sender.Tell(new ExperimentSummary(_spec, _lastStep, _history, _totals, Running: false));
        });
        Command<GetFinalState>(_ =>
        {
            try
            {
                var st = EnsureState();
                Sender.Tell(new FinalState(st));
            }
            catch (Exception e) { Sender.Tell(new Status.Failure(e)); }
        });
        Command<FinishExperiment>(OnFinish);
        Command<GetRunIntent>(_ => Sender.Tell(new RunIntent(_spec is not null, _stopped, _lastStep, _spec?.TotalSteps ?? 0,
            _spec is null ? null : new ExperimentSummary(_spec, _lastStep, _history, _totals, Running: false))));
        Command<MarkRunStopped>(m =>
        {
            var sender = Sender;
            if (_spec is null || _stopped is not null) { sender.Tell(new RunStopMarked()); return; }
            Persist(new RunStopped(m.Reason, DateTimeOffset.UtcNow), e =>
            {
                _stopped = e.Reason;
                sender.Tell(new RunStopMarked());
            });
        });
        Command<SaveSnapshotSuccess>(s =>
        {
            _snapshotStored = Math.Max(_snapshotStored, s.Metadata.SequenceNr);
            this.PruneBefore(s.Metadata);
            if (_snapshotStored >= LastSequenceNr) Finished();
        });
        Command<SaveSnapshotFailure>(f =>
        {
            _log.Warning("snapshot of {0} failed (events are kept): {1}", _experimentId, f.Cause.Message);
            if (f.Metadata.SequenceNr >= LastSequenceNr) Finished();
        });
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

    /// <summary>
    /// The run's last step is persisted: a snapshot of its state is stored (unless one is, or is on its way, or the state
    /// is the initial one, which derives from the seed), so that reading the model costs one snapshot instead of replaying
    /// up to snapshot-every steps. The trainer hears once it is stored. A run that ends fewer than snapshot-every / 2
    /// steps after its last snapshot (or its start) keeps its step events instead: replaying a few steps when the model
    /// is read costs less than writing the full state (5.2 MB for 784-548-1) for every short run of a campaign
    /// (docs/architecture.md, "Persistence").
    /// </summary>
    private void OnFinish(FinishExperiment f)
    {
        if (f.Step != _lastStep)
        {
            Sender.Tell(new Status.Failure(new InvalidOperationException($"experiment '{_experimentId}' is at step {_lastStep}, not {f.Step}")));
            return;
        }
        _finishing = (Sender, f.Step);
        if (_lastStep == 0 || _snapshotStored >= LastSequenceNr) { Finished(); return; }
        if (_snapshotAsked >= LastSequenceNr) return; // SaveSnapshotSuccess or Failure answers
        if (_lastStep - _snapshotStep < _finalSnapshotAfter) { Finished(); return; }
        try { SaveFull(EnsureState()); }
        catch (Exception e)
        {
            _log.Warning("final snapshot of {0} not written (events are kept): {1}", _experimentId, e.Message);
            Finished();
        }
    }

    private void Finished()
    {
        if (_finishing is not { } f) return;
        _finishing = null;
        f.Who.Tell(new ExperimentFinished(f.Step));
    }

    /// <summary>
    /// A snapshot of the state after the last persisted step. Its bytes are taken now, before the next step changes the
    /// state in place; the snapshot store writes them while the next step samples. Until it confirms, the events since
    /// the last snapshot stay.
    /// </summary>
    private void SaveFull(object state)
    {
        var m = _history[^1];
        var full = new StepCheckpoint(_lastStep, _procedure!.SaveState(state), _procedure.RngState(state), m, _lastProvenance);
        _snapshotAsked = LastSequenceNr;
        _snapshotStep = _lastStep;
        SaveSnapshot(new ExperimentSnapshot(_spec!, full, _history, _totals));
    }

    private string Damage(DamagedRecord d, string where)
    {
        string message = $"experiment '{_experimentId}': the journal record of {where} is damaged ({d.Manifest}: {d.Problem}); " +
            "it is not resumed, as it would continue from a different model. Restore the journal from a backup, or train the experiment again under another --out";
        _log.Error(message);
        return message;
    }

    /// <summary>A full state (or, with null, the initial state) becomes the base the next steps replay from.</summary>
    private void Rebase(StepCheckpoint? c)
    {
        _base = c;
        _pending.Clear();
        _state = null;
    }

    /// <summary>Recovery of a step: recorded now, recomputed from the state before it when the state is needed.</summary>
    private void Replayed(StepReplay e)
    {
        if (e.Step == 0) Rebase(null); // the experiment's creation: its state is the procedure's initial state
        else
        {
            if (e.Step != _lastStep + 1) throw new InvalidOperationException($"journal of '{_experimentId}' replays step {e.Step} after step {_lastStep}");
            _pending.Add(e);
            _state = null;
        }
        Applied(e.Step, e.Metrics, e.Provenance);
    }

    private void Applied(long step, StepStats metrics, Provenance provenance)
    {
        _lastStep = step;
        _lastProvenance = provenance;
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
        if (_state is not null) return _state;
        var st = _base is not null ? _procedure.RestoreState(_base.State) : _procedure.InitialState();
        long step = _base?.Step ?? 0;
        foreach (var e in _pending)
        {
            if (e.Step != step + 1) throw new InvalidOperationException($"experiment '{_experimentId}': step {e.Step} cannot be replayed after step {step}");
            var samples = e.Samples.IsDefaultOrEmpty && !_procedure.NeedsSampling ? null : FromReplay(e.Samples);
            st = _procedure.Apply(st, e.Step, _procedure.BatchIndices(e.Step), samples).State;
            step = e.Step;
        }
        if (step != _lastStep)
            throw new InvalidOperationException($"experiment '{_experimentId}': the journal ends at step {_lastStep} but its states reach step {step}");
        _pending.Clear();
        _base = null;
        _state = st;
        return st;
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
            // The experiment starts with step 0: the initial state's metrics (the state itself is recomputed from
            // the seed on recovery), so the history always begins at step 0.
            var spec = init.Spec;
            ITrainingProcedure proc;
            object st;
            StepReplay c0;
            try
            {
                proc = _procedureFor(spec);
                st = proc.InitialState();
                c0 = new StepReplay(0, ImmutableArray<ReplaySamples>.Empty, new StepStats(0, proc.InitialMetrics(st).ToImmutableArray()), Provenance.Empty);
            }
            catch (Exception e)
            {
                sender.Tell(new Status.Failure(new InvalidOperationException($"cannot create experiment '{_experimentId}': {e.Message}", e)));
                return;
            }
            PersistAll(new IPersisted[] { new ExperimentCreated(spec), c0 }, e =>
            {
                if (e is ExperimentCreated created) { _spec = created.Spec; return; }
                Replayed((StepReplay)e);
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
        if (_stopped is not null && init.ClearStop)
        {
            // Started or resumed on purpose: from now on a restart after node loss continues it again.
            Persist(new RunResumed(DateTimeOffset.UtcNow), _ =>
            {
                _stopped = null;
                ReplyState(sender);
            });
            return;
        }
        ReplyState(sender);
    }

    /// <summary>Why <paramref name="b"/> is not the experiment <paramref name="a"/> (null: the same one).</summary>
    internal static string? Incompatible(ExperimentSpec a, ExperimentSpec b)
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
            sender.Tell(new AggregatorState(_spec!, _procedure!, st, _lastStep, _history, _totals));
        }
        catch (Exception e)
        {
            sender.Tell(new Status.Failure(new InvalidOperationException($"cannot prepare experiment '{_experimentId}': {e.Message}", e)));
        }
    }

    private void OnApply(ApplyStep a)
    {
        var sender = Sender;
        if (a.Step <= _lastStep)
        {
            sender.Tell(new StepAlreadyApplied(a.Step, _lastStep));
            return;
        }
        if (a.Step != _lastStep + 1)
        {
            sender.Tell(new Status.Failure(new InvalidOperationException($"step {a.Step} cannot follow step {_lastStep}")));
            return;
        }
        object next;
        StepReplay record;
        try
        {
            var st = EnsureState();
            var outcome = _procedure!.Apply(st, a.Step, a.BatchIndices, a.Samples);
            next = outcome.State;
            var metrics = new StepStats(a.Step, outcome.Metrics.ToImmutableArray());
            record = new StepReplay(a.Step, ToReplay(_procedure.ReduceForReplay(a.Samples)), metrics, a.Provenance);
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
        Persist(record, e =>
        {
            Applied(e.Step, e.Metrics, e.Provenance);
            _state = next;
            if (e.Step % _snapshotEvery == 0) SaveFull(next);
            sender.Tell(new StepApplied(a.Step, e.Metrics, e.Provenance, _totals, next));
        });
    }
}
