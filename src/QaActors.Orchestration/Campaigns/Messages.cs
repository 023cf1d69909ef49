using System.Collections.Immutable;
using Akka.Cluster.Sharding;

namespace QaActors.Orchestration.Campaigns;

/// <summary>Messages routed to a campaign manager by campaign id (the shard key).</summary>
public interface IWithCampaignId
{
    string CampaignId { get; }
}

public sealed class CampaignMessageExtractor() : HashCodeMessageExtractor(30)
{
    public override string? EntityId(object message) => (message as IWithCampaignId)?.CampaignId;
}

/// <summary>
/// Creates the campaign (or, when it exists for the same user, finds it): the campaign file's text and what the
/// accepting node contributes (data dir, QPU solver, the image counts of the cells' tasks in its data, by
/// <see cref="QaActors.Campaigns.CampaignData.SizeKey"/>). Answered with <see cref="CampaignAccepted"/> or <see cref="CampaignRejected"/>.
/// </summary>
public sealed record CreateCampaign(string CampaignId, string User, string Name, string Source, string SpecText, string? DataDir, string Solver,
    ImmutableSortedDictionary<string, QaActors.Campaigns.DataSizes>? DataSizes = null)
    : IWithCampaignId, IQaMessage;

public sealed record CampaignAccepted(string CampaignId, bool Created) : IQaMessage;

public sealed record CampaignRejected(string CampaignId, string Reason) : IQaMessage;

/// <summary>
/// Answered with <see cref="CampaignStatus"/>, or <see cref="CampaignUnknown"/> when no such campaign was created. The
/// cells come in pages from <paramref name="CellOffset"/> (each reply small enough for a remote frame, see
/// <see cref="CampaignStatus.NextCellOffset"/>); <paramref name="WithCells"/> false sends the counts only.
/// </summary>
public sealed record GetCampaignStatus(string CampaignId, int CellOffset = 0, bool WithCells = true) : IWithCampaignId, IQaMessage;

/// <summary>Pauses the running experiments and submits nothing more; answered with <see cref="CampaignStatus"/>.</summary>
public sealed record CancelCampaign(string CampaignId) : IWithCampaignId, IQaMessage;

/// <summary>Failed and cancelled cells wait again with fresh attempts; answered with <see cref="CampaignStatus"/>.</summary>
public sealed record RetryFailedCells(string CampaignId) : IWithCampaignId, IQaMessage;

/// <summary>Sent by the campaign registry to every open campaign now and then: a manager that is not running starts and recovers.</summary>
public sealed record WakeCampaign(string CampaignId) : IWithCampaignId, IQaMessage;

/// <summary>
/// A campaign's state. The cells travel as the report's JSON (a list of CellResult), the format the API and the
/// report read, rather than as .NET objects between nodes: a page of them from the asked offset, and
/// <see cref="NextCellOffset"/> the offset of the next page (null: this was the last).
/// </summary>
public sealed record CampaignStatus(string CampaignId, string User, string Name, string State, int Total, int Completed, int Running,
    int Waiting, int Failed, int Cancelled, string CellsJson, int? NextCellOffset, ImmutableSortedDictionary<string, long> StepsInFlight) : IQaMessage
{
    /// <summary>A page of cells stays below this many characters of JSON (the remote frame is 128 kB by default).</summary>
    public const int PageChars = 48_000;
}

public sealed record CampaignUnknown(string CampaignId) : IQaMessage;

/// <summary>
/// The campaign file as it was submitted, for the work a node does beside the grid (its runtime study); answered with
/// <see cref="CampaignSpecText"/>, or <see cref="CampaignUnknown"/> when no such campaign was created.
/// </summary>
public sealed record GetCampaignSpec(string CampaignId) : IWithCampaignId, IQaMessage;

public sealed record CampaignSpecText(string CampaignId, string User, string Name, string Source, string Text) : IQaMessage;

// ---- the registry (a cluster singleton) ----

public sealed record RegisterCampaign(string CampaignId, string User, string Name) : IQaMessage;

public sealed record CampaignSettledNotice(string CampaignId, string State) : IQaMessage;

public sealed record CampaignReopenedNotice(string CampaignId) : IQaMessage;

public sealed record ListCampaigns : IQaMessage
{
    public static readonly ListCampaigns Instance = new();
}

public sealed record CampaignEntry(string CampaignId, string User, string Name, DateTimeOffset Created, string? Settled) : IQaMessage;

public sealed record CampaignList(ImmutableArray<CampaignEntry> Campaigns) : IQaMessage;
