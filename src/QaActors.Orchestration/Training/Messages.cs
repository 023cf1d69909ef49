using System.Collections.Immutable;
using Akka.Actor;
using QaActors.Orchestration.Persistence;
using QaActors.Sampling;

namespace QaActors.Orchestration.Training;

/// <summary>Messages routed to a trainer entity by experiment id (the shard key).</summary>
public interface IWithExperimentId
{
    string ExperimentId { get; }
}

/// <summary>
/// Starts (or continues, if it exists with the same settings) an experiment; progress goes to <paramref name="ReportTo"/>.
/// Sent to a trainer that is already running the experiment with the same settings, it adds <paramref name="ReportTo"/>
/// to the run's listeners (docs/architecture.md, "Listeners and node loss").
/// </summary>
public sealed record StartExperiment(ExperimentSpec Spec, IActorRef ReportTo, bool StateHere = false) : IWithExperimentId, IQaMessage
{
    public string ExperimentId => Spec.ExperimentId;
}

/// <summary>Continues an existing experiment from its last persisted step (a running one: adds the listener).</summary>
/// <remarks><c>StateHere</c> (also on <see cref="StartExperiment"/>): a listener in the trainer's own process asks for
/// <see cref="ExperimentCompletedHere"/>, the completion with the final state, instead of reading it from the journal.</remarks>
public sealed record ResumeExperiment(string ExperimentId, IActorRef ReportTo, bool StateHere = false) : IWithExperimentId, IQaMessage;

/// <summary>
/// Stops stepping after the step in progress, or once step <paramref name="AfterStep"/> is persisted
/// (nothing persisted is lost; a resume continues from there). The run ends with ExperimentFailed("paused").
/// </summary>
public sealed record PauseExperiment(string ExperimentId, long? AfterStep = null) : IWithExperimentId, IQaMessage;

/// <summary>
/// The answer to <see cref="PauseExperiment"/> (without a step): the stop is recorded, so no restart continues the run,
/// even should its process exit before the step in progress ends.
/// </summary>
public sealed record ExperimentPaused(string ExperimentId) : IQaMessage;

/// <summary>
/// Follows an experiment without deciding for it: a running one adds the listener; one that was stopped (cancelled or
/// failed) answers <see cref="ExperimentFailed"/> with the reason it stopped; a finished one answers
/// <see cref="ExperimentCompleted"/>; one that was running when its node went away continues, with the listener.
/// A listener whose trainer terminated sends this to find it again (wherever the shard now runs). With
/// <paramref name="ContinueInterrupted"/> false it only watches: an interrupted run answers ExperimentFailed instead.
/// </summary>
public sealed record AttachExperiment(string ExperimentId, IActorRef ReportTo, bool StateHere = false, bool ContinueInterrupted = true) : IWithExperimentId, IQaMessage;

/// <summary>
/// A trainer took <see cref="ExperimentAttached"/>'s receiver as a listener; it is the sender, so the listener can watch
/// it and re-attach should it terminate before the run ends. <paramref name="LastStep"/>: the last persisted step the
/// trainer knew of then (0 while it has not loaded the experiment yet).
/// </summary>
public sealed record ExperimentAttached(string ExperimentId, long LastStep) : IQaMessage;

public sealed record GetExperimentSummary(string ExperimentId) : IWithExperimentId, IQaMessage;

/// <summary>An experiment as of its last persisted step; <c>RunningOn</c>: the address of the node whose trainer runs it (in a completion: ran its last step).</summary>
public sealed record ExperimentSummary(
    ExperimentSpec Spec,
    long LastStep,
    ImmutableArray<StepStats> History,
    Provenance Totals,
    bool Running,
    string? RunningOn = null) : IQaMessage
{
    public bool Completed => LastStep >= Spec.TotalSteps;
}

/// <summary>Progress of one applied (and persisted) step.</summary>
public sealed record StepReport(string ExperimentId, long Step, long TotalSteps, StepStats Metrics, Provenance StepProvenance, Provenance Totals) : IQaMessage;

/// <summary>
/// The experiment reached its last step. Only the summary travels: the model (megabytes) stays in the journal, where
/// the trainer has made sure a snapshot of it is, and whoever needs it reads it there on its own node
/// (<see cref="FinalStateReader"/>).
/// </summary>
public sealed record ExperimentCompleted(ExperimentSummary Summary, long ResumedFromStep) : IQaMessage;

/// <summary>
/// The completion as a listener in the trainer's own actor system receives it: with the final state, which never
/// leaves the process, so the listener need not read it back from the journal (a remote listener gets
/// <see cref="ExperimentCompleted"/> and reads it with <see cref="FinalStateReader"/>).
/// </summary>
internal sealed record ExperimentCompletedHere(ExperimentCompleted Completed, object State) : ILocalMessage;

public sealed record ExperimentFailed(string ExperimentId, string Reason) : IQaMessage;

// ---- between a trainer, its aggregator and the BQM workers of its node: local only (they carry live state objects) ----

/// <summary><paramref name="ClearStop"/>: a start or resume on purpose, after which a restart continues the run again.</summary>
internal sealed record InitAggregator(ExperimentSpec? Spec, bool ClearStop = true) : ILocalMessage;

/// <summary>Whether the experiment exists, was stopped on purpose (with the reason), and how far it is.</summary>
internal sealed record GetRunIntent : ILocalMessage;

internal sealed record RunIntent(bool Exists, string? StoppedReason, long LastStep, long TotalSteps, ExperimentSummary? Summary) : ILocalMessage
{
    /// <summary>Was running when its trainer went away: nobody stopped it and steps remain.</summary>
    public bool Interrupted => Exists && StoppedReason is null && LastStep < TotalSteps;
}

/// <summary>The run stopped before its end (cancelled, or failed past its retries): recorded, so no restart continues it.</summary>
internal sealed record MarkRunStopped(string Reason) : ILocalMessage;

internal sealed record RunStopMarked : ILocalMessage;

internal sealed record AggregatorState(ExperimentSpec Spec, ITrainingProcedure Procedure, object State, long LastStep,
    ImmutableArray<StepStats> History, Provenance Totals) : ILocalMessage;

internal sealed record ApplyStep(long Step, int[] BatchIndices, IReadOnlyList<SampleSet>? Samples, Provenance Provenance) : ILocalMessage;

internal sealed record StepApplied(long Step, StepStats Metrics, Provenance StepProvenance, Provenance Totals, object State) : ILocalMessage;

/// <summary>The step was applied before (a duplicate after a retry): nothing was changed.</summary>
internal sealed record StepAlreadyApplied(long Step, long LastStep) : ILocalMessage;

internal sealed record GetAggregatorSummary : ILocalMessage;

/// <summary>
/// The run has applied its last step (<paramref name="Step"/>): the aggregator answers <see cref="ExperimentFinished"/>
/// once a snapshot of that step's state is stored (or its write failed: the events then remain).
/// </summary>
internal sealed record FinishExperiment(long Step) : ILocalMessage;

internal sealed record ExperimentFinished(long Step) : ILocalMessage;

/// <summary>Asks an aggregator (a reader on the asker's own node, see <see cref="FinalStateReader"/>) for the state after its last step.</summary>
internal sealed record GetFinalState : ILocalMessage;

internal sealed record FinalState(object State) : ILocalMessage;

/// <summary>Builds the problems of positions [Offset, Offset+Count) of a batch.</summary>
public sealed record BuildProblems(ITrainingProcedure Procedure, object State, long Step, int[] BatchIndices, int Offset, int Count) : ILocalMessage;

public sealed record ProblemsBuilt(int Offset, Bqm[] Problems) : ILocalMessage;
