using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;

namespace QaActors.Orchestration.Campaigns;

/// <summary>Marker of the campaign manager's and registry's journal records, bound to <see cref="CampaignSerializer"/> (hocon/akka.conf).</summary>
public interface ICampaignPersisted;

/// <summary>
/// A campaign as it was submitted: the campaign file's text (parsed again on recovery: the grid is a function of it),
/// who runs it, and what every cell's experiment spec needs from the node that accepted it (data dir, QPU solver,
/// the creation time that every spec carries, so a resent spec is the same spec, and the image counts of the cells'
/// tasks that the specs record; absent in a campaign created before they were kept, whose specs stay as they were).
/// </summary>
public sealed record CampaignCreated(string CampaignId, string User, string Name, string Source, string SpecText, string? DataDir,
    string Solver, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, QaActors.Campaigns.DataSizes>? DataSizes = null) : ICampaignPersisted;

public sealed record CellSubmitted(string ExperimentId, int Attempt, DateTimeOffset At) : ICampaignPersisted;

/// <summary>A completed cell: its result (history, provenance, wall time) as the report's JSON.</summary>
public sealed record CellCompleted(string ExperimentId, string ResultJson) : ICampaignPersisted;

public sealed record CellFailed(string ExperimentId, int Attempt, string Reason, bool Final) : ICampaignPersisted;

public sealed record CampaignCancelled(DateTimeOffset At) : ICampaignPersisted;

public sealed record FailedCellsRetried(DateTimeOffset At) : ICampaignPersisted;

/// <summary>The registry's record of a campaign (for `campaign list` and for waking campaigns after a restart).</summary>
public sealed record CampaignRegistered(string CampaignId, string User, string Name, DateTimeOffset At) : ICampaignPersisted;

/// <summary>The campaign has nothing left to run (until a retry-failed opens it again).</summary>
public sealed record CampaignSettled(string CampaignId, string State) : ICampaignPersisted;

public sealed record CampaignReopened(string CampaignId) : ICampaignPersisted;

/// <summary>
/// The campaign records' stored format: UTF-8 JSON of each record under a versioned manifest ("campaign-created.v1"),
/// as Akka.NET's SerializerWithStringManifest guidance asks for persisted data; a changed record gets a new manifest.
/// </summary>
public sealed class CampaignSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 7342;

    private static readonly Dictionary<string, Type> Types = new(StringComparer.Ordinal)
    {
        ["campaign-created.v1"] = typeof(CampaignCreated),
        ["campaign-cell-submitted.v1"] = typeof(CellSubmitted),
        ["campaign-cell-completed.v1"] = typeof(CellCompleted),
        ["campaign-cell-failed.v1"] = typeof(CellFailed),
        ["campaign-cancelled.v1"] = typeof(CampaignCancelled),
        ["campaign-failed-retried.v1"] = typeof(FailedCellsRetried),
        ["campaign-registered.v1"] = typeof(CampaignRegistered),
        ["campaign-settled.v1"] = typeof(CampaignSettled),
        ["campaign-reopened.v1"] = typeof(CampaignReopened),
    };

    private static readonly Dictionary<Type, string> Manifests = Types.ToDictionary(kv => kv.Value, kv => kv.Key);

    public override int Identifier => Id;

    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var m) ? m : throw new ArgumentException($"{o.GetType().Name} is not a campaign record");

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType());

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Types.TryGetValue(manifest, out var type))
            throw new System.Runtime.Serialization.SerializationException($"unknown campaign record format '{manifest}'");
        return JsonSerializer.Deserialize(bytes, type)
            ?? throw new System.Runtime.Serialization.SerializationException($"campaign record '{manifest}' is empty: {Encoding.UTF8.GetString(bytes)}");
    }
}
