using System.Collections.Immutable;
using QaActors.Sampling;

namespace QaActors.Orchestration.Gateway;

/// <summary>The sampler names an experiment may fall back to when the QPU cannot serve.</summary>
public static class Fallbacks
{
    public const string Gibbs = "gibbs";
    public const string Anneal = "anneal";
    public const string None = "none";
    public static readonly ImmutableArray<string> All = [Gibbs, Anneal, None];

    public static string Parse(string value, string optionName = "--fallback")
    {
        var v = value.Trim().ToLowerInvariant();
        return All.Contains(v) ? v : throw new ArgumentException($"{optionName} '{value}' is not a fallback; use gibbs, anneal or none");
    }
}

/// <summary>Why a request was served by a fallback sampler (the reply's FallbackReason starts with one of these).</summary>
public static class FallbackReasons
{
    public const string BreakerOpen = "breaker-open";
    public const string QpuError = "qpu-error";
    public const string QpuBackoff = "qpu-backoff";
    public const string Quota = "quota-exhausted";
    public const string Deadline = "deadline";
    public const string LedgerUnavailable = "quota-ledger-unavailable";
}

/// <summary>
/// How an experiment uses the QPU: its temperature factor T (or auto) and how many of its problems one call may
/// carry. The QPU side applies T (docs/math.md, "Temperature"); problems themselves are at the model's temperature.
/// </summary>
public sealed record QpuJobSettings(double TEff, bool AutoTemperature, int MaxTiles) : IQaMessage
{
    /// <summary>T = 1, one problem per call: the problem is programmed as it is given.</summary>
    public static readonly QpuJobSettings AsGiven = new(1, false, 1);
}

/// <summary>
/// How a classical sampler (gibbs, anneal) samples an experiment's problems: its sweeps (null: the sampler's default)
/// and the β its schedule ends at. Carried by every job, so one node's pools serve experiments with different settings,
/// and a QPU job that falls back is sampled exactly as the classical experiment would be.
/// </summary>
public sealed record ClassicalSettings(int? Sweeps, double Beta) : IQaMessage
{
    public static readonly ClassicalSettings Default = new(null, 1.0);
}

/// <summary>
/// One problem to sample, at the model's own temperature. <paramref name="Fallback"/> names the classical sampler to
/// use when the QPU cannot serve (or "none": wait and retry); the fallback samples the same problem with the same
/// request, so it draws from the same distribution. <paramref name="Deadline"/>: when the answer is needed by; a
/// request whose deadline is near is served by the fallback instead of waiting for the QPU. <paramref name="Qpu"/>:
/// the experiment's QPU settings (null: <see cref="QpuJobSettings.AsGiven"/>); <paramref name="Classical"/>: how a
/// classical pool samples it (null: <see cref="ClassicalSettings.Default"/>). <paramref name="KeepLabels"/>: the
/// variables the requester reads; the reply carries only those columns, identical rows merged (null: all), so a
/// reply of thousands of reads of hundreds of variables stays far below the remote frame size.
/// </summary>
public sealed record SampleJob(
    long JobId,
    string User,
    string ExperimentId,
    Bqm Problem,
    SampleRequest Request,
    string Fallback,
    DateTimeOffset? Deadline,
    QpuJobSettings? Qpu = null,
    ClassicalSettings? Classical = null,
    ImmutableArray<int>? KeepLabels = null) : IQaMessage
{
    private static long _next;
    public static long NextId() => Interlocked.Increment(ref _next);

    /// <summary>The samples as the reply carries them: reduced to <see cref="KeepLabels"/> at the source.</summary>
    public SampleSet ForReply(SampleSet samples) => KeepLabels is { } keep ? samples.KeepColumns(keep.AsSpan()) : samples;
}

/// <summary>
/// The answer to a <see cref="SampleJob"/>: the samples, which sampler produced them, why a fallback
/// was used (null when the first-choice sampler served), and the QPU access time charged (µs).
/// </summary>
public sealed record SampleReply(long JobId, SampleSet Samples, string ServedBy, string? FallbackReason, double QpuAccessMicros) : IQaMessage;

/// <summary>The request cannot be served at all (e.g. quota spent and fallback none); the reason says why.</summary>
public sealed record SampleRefused(long JobId, string Reason) : IQaMessage;

/// <summary>Sampling the request failed this time (a sampler error); asking again may succeed.</summary>
public sealed record SampleFailed(long JobId, string Reason) : IQaMessage;

/// <summary>
/// The problems of one step of one experiment, given to the gateway together so that it can place as many as fit on
/// the chip in one call (same user, experiment, fallback and QPU settings; one structure). Every job is answered on
/// its own (<see cref="SampleReply"/>, <see cref="SampleRefused"/> or <see cref="SampleFailed"/>, by job id), to the sender.
/// </summary>
/// <remarks><c>Confirm</c>: the gateway answers <see cref="SampleBatchAccepted"/> first.</remarks>
public sealed record SampleBatch(ImmutableArray<SampleJob> Jobs, bool Confirm = false) : IQaMessage;

/// <summary>
/// The gateway has the batch whose first job is <paramref name="FirstJobId"/>. Its sender is the gateway itself (not
/// the singleton proxy), which the asker watches: should the gateway's node be lost before every job is answered, the
/// batch is sent again (docs/architecture.md, "Listeners and node loss").
/// </summary>
public sealed record SampleBatchAccepted(long FirstJobId) : IQaMessage;

/// <summary>Asks the gateway for its state.</summary>
public sealed record GetGatewayStatus : IQaMessage
{
    public static readonly GetGatewayStatus Instance = new();
}

public enum BreakerState { Closed, Open, HalfOpen }

public sealed record GatewayStatus(
    string Solver,
    BreakerState Breaker,
    int InFlight,
    int Queued,
    long Submitted,
    long ServedByQpu,
    long FellBack,
    ImmutableSortedDictionary<string, double> QpuMicrosByUser,
    long LostAnswers = 0,
    ImmutableList<GatewayUserState>? Users = null) : IQaMessage;

/// <summary>
/// The gateway's state for one user it has seen: the fair-share weight it applies, the problems waiting in the user's
/// queue, the QPU time (µs) the user's calls used so far, and how many of the user's problems went to a fallback.
/// </summary>
public sealed record GatewayUserState(string User, double Weight, int Queued, double QpuMicros, long FellBack) : IQaMessage;

/// <summary>Published on the event stream whenever the breaker changes state.</summary>
public sealed record BreakerStateChanged(string Solver, BreakerState State, string Why) : IQaMessage;
