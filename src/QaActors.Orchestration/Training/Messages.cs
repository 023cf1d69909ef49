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

/// <summary>Starts (or continues, if it exists with the same settings) an experiment; progress goes to <paramref name="ReportTo"/>.</summary>
public sealed record StartExperiment(ExperimentSpec Spec, IActorRef ReportTo) : IWithExperimentId, IQaMessage
{
    public string ExperimentId => Spec.ExperimentId;
}

/// <summary>Continues an existing experiment from its last persisted step.</summary>
public sealed record ResumeExperiment(string ExperimentId, IActorRef ReportTo) : IWithExperimentId, IQaMessage;

/// <summary>
/// Stops stepping after the step in progress, or once step <paramref name="AfterStep"/> is persisted
/// (nothing persisted is lost; a resume continues from there). The run ends with ExperimentFailed("paused").
/// </summary>
public sealed record PauseExperiment(string ExperimentId, long? AfterStep = null) : IWithExperimentId, IQaMessage;

public sealed record GetExperimentSummary(string ExperimentId) : IWithExperimentId, IQaMessage;

public sealed record ExperimentSummary(
    ExperimentSpec Spec,
    long LastStep,
    ImmutableArray<StepStats> History,
    Provenance Totals,
    bool Running) : IQaMessage
{
    public bool Completed => LastStep >= Spec.TotalSteps;
}

/// <summary>Progress of one applied (and persisted) step.</summary>
public sealed record StepReport(string ExperimentId, long Step, long TotalSteps, StepStats Metrics, Provenance StepProvenance, Provenance Totals) : IQaMessage;

public sealed record ExperimentCompleted(ExperimentSummary Summary, object FinalState, long ResumedFromStep);

public sealed record ExperimentFailed(string ExperimentId, string Reason) : IQaMessage;

// ---- between trainer, aggregator and BQM workers: local only (they carry live state objects) ----

internal sealed record InitAggregator(ExperimentSpec? Spec);

internal sealed record AggregatorState(ExperimentSpec Spec, ITrainingProcedure Procedure, object State, long LastStep,
    ImmutableArray<StepStats> History, Provenance Totals);

internal sealed record ApplyStep(long Step, int[] BatchIndices, IReadOnlyList<SampleSet>? Samples, Provenance Provenance);

internal sealed record StepApplied(long Step, StepStats Metrics, Provenance StepProvenance, Provenance Totals, object State);

/// <summary>The step was applied before (a duplicate after a retry): nothing was changed.</summary>
internal sealed record StepAlreadyApplied(long Step, long LastStep);

internal sealed record GetAggregatorSummary;

internal sealed record GetFinalState;

internal sealed record FinalState(object State, byte[] Bytes);

/// <summary>Builds the problems of positions [Offset, Offset+Count) of a batch.</summary>
public sealed record BuildProblems(ITrainingProcedure Procedure, object State, long Step, int[] BatchIndices, int Offset, int Count);

public sealed record ProblemsBuilt(int Offset, Bqm[] Problems);
