using System.Text.Json.Serialization;

namespace QaActors.Node;

/// <summary>The data of an experiment as the client names it; the node loads it from its own data dir.</summary>
public sealed record TaskRequest(
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("class_a")] int ClassA,
    [property: JsonPropertyName("class_b")] int ClassB,
    [property: JsonPropertyName("train_size")] string TrainSize,
    [property: JsonPropertyName("test_size")] string TestSize);

/// <summary>POST /api/v1/experiments. <c>config</c> is the training configuration as the science library writes it.</summary>
public sealed record SubmitRequest(
    [property: JsonPropertyName("config")] System.Text.Json.Nodes.JsonObject Config,
    [property: JsonPropertyName("task")] TaskRequest Task,
    [property: JsonPropertyName("fallback")] string? Fallback,
    [property: JsonPropertyName("experiment_id")] string? ExperimentId);

public sealed record SubmitResponse(
    [property: JsonPropertyName("experiment_id")] string ExperimentId,
    [property: JsonPropertyName("created")] bool Created,
    [property: JsonPropertyName("url")] string Url);

public sealed record ApiError([property: JsonPropertyName("error")] string Error, [property: JsonPropertyName("field")] string? Field = null);

public sealed record StepEvent(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("total_steps")] long TotalSteps,
    [property: JsonPropertyName("metrics")] IReadOnlyDictionary<string, double> Metrics,
    [property: JsonPropertyName("samplers")] IReadOnlyDictionary<string, long> Samplers,
    [property: JsonPropertyName("qpu_access_time")] double QpuAccessSeconds);

public sealed record ExperimentView(
    [property: JsonPropertyName("experiment_id")] string ExperimentId,
    [property: JsonPropertyName("user")] string User,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("total_steps")] long TotalSteps,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("config")] System.Text.Json.Nodes.JsonNode? Config,
    [property: JsonPropertyName("task")] System.Text.Json.Nodes.JsonNode? Task,
    [property: JsonPropertyName("history")] IReadOnlyList<IReadOnlyDictionary<string, double>> History,
    [property: JsonPropertyName("provenance")] System.Text.Json.Nodes.JsonObject Provenance,
    [property: JsonPropertyName("artifacts")] IReadOnlyList<string> Artifacts,
    [property: JsonPropertyName("node")] string? Node);
