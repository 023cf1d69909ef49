using System.Collections.Immutable;
using QaActors.Learning;

namespace QaActors.Campaigns;

/// <summary>What to do about an experiment that stopped without completing.</summary>
public enum FailureDecision
{
    /// <summary>Submit it again (the trainer continues from its last persisted step).</summary>
    Retry,
    /// <summary>Its attempts are spent: the cell is failed, with the reason kept.</summary>
    GiveUp,
}

/// <summary>
/// The campaign manager's policy, without actors (docs/campaigns.md, "On a node"): the cells of a campaign in grid
/// order with their states, which to submit next (the first waiting cells, at most max-concurrent in flight, QPU cells
/// only while the user's quota lasts), and whether a failure is retried (at most max-retries more attempts).
/// The actor applies its persisted events to this, in order, and recovers by applying them again.
/// </summary>
public sealed class CampaignProgress
{
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly CellResult[] _cells;

    public string CampaignId { get; }
    public CampaignSpec Spec { get; }
    public ImmutableArray<Cell> Grid { get; }
    public bool Cancelled { get; private set; }

    public CampaignProgress(string campaignId, CampaignSpec spec, string user)
    {
        CampaignId = campaignId;
        Spec = spec;
        Grid = CampaignGrid.Expand(spec);
        _cells = new CellResult[Grid.Length];
        for (int i = 0; i < Grid.Length; i++)
        {
            string id = CampaignGrid.ExperimentId(campaignId, Grid[i]);
            _index[id] = i;
            _cells[i] = CellResult.For(Grid[i], id, user);
        }
    }

    public IReadOnlyList<CellResult> Cells => _cells;

    public CellResult this[string experimentId] => _cells[Index(experimentId)];

    public bool Contains(string experimentId) => _index.ContainsKey(experimentId);

    public Cell CellOf(string experimentId) => Grid[Index(experimentId)];

    private int Index(string id) => _index.TryGetValue(id, out int i) ? i : throw new KeyNotFoundException($"experiment '{id}' is not a cell of campaign {CampaignId}");

    public IEnumerable<CellResult> InFlight => _cells.Where(c => c.Status == CellStatus.Running);

    public int Count(string status) => _cells.Count(c => c.Status == status);

    /// <summary>Every cell completed, failed for good or cancelled.</summary>
    public bool Finished => _cells.All(c => c.Status is CellStatus.Completed or CellStatus.Failed or CellStatus.Cancelled);

    /// <summary>"running", "completed", "failed" (finished with failures), "cancelled".</summary>
    public string State => Cancelled ? CellStatus.Cancelled : !Finished ? CellStatus.Running : Count(CellStatus.Failed) > 0 ? CellStatus.Failed : CellStatus.Completed;

    /// <summary>
    /// The cells to submit now, in grid order: waiting ones, as many as max-concurrent leaves room for. A qpu cell waits
    /// while <paramref name="qpuAllowed"/> is false (the user's quota is spent) without holding back the classical cells.
    /// </summary>
    public IReadOnlyList<string> NextToSubmit(bool qpuAllowed)
    {
        if (Cancelled) return [];
        int room = Spec.MaxConcurrent - InFlight.Count();
        var next = new List<string>();
        for (int i = 0; i < _cells.Length && next.Count < room; i++)
            if (_cells[i].Status == CellStatus.Waiting && (qpuAllowed || _cells[i].Method != TrainingMethod.Qpu))
                next.Add(_cells[i].ExperimentId);
        return next;
    }

    /// <summary>A failure of the current attempt: retried while attempts remain (1 + max-retries in all).</summary>
    public FailureDecision Decide(string experimentId) =>
        this[experimentId].Attempts < 1 + Spec.MaxRetries && !Cancelled ? FailureDecision.Retry : FailureDecision.GiveUp;

    // ---- transitions (the actor's persisted events, applied in order) ----

    public void Submitted(string experimentId, int attempt)
    {
        int i = Index(experimentId);
        _cells[i] = _cells[i] with { Status = CellStatus.Running, Attempts = attempt };
    }

    public void Completed(CellResult result)
    {
        int i = Index(result.ExperimentId);
        _cells[i] = result with { Status = CellStatus.Completed, Attempts = Math.Max(result.Attempts, _cells[i].Attempts), Reason = null };
    }

    /// <summary>The attempt failed; <paramref name="final"/>: no more attempts (else it waits for its next submission).</summary>
    public void Failed(string experimentId, string reason, bool final)
    {
        int i = Index(experimentId);
        _cells[i] = _cells[i] with { Status = final ? CellStatus.Failed : CellStatus.Waiting, Reason = reason };
    }

    /// <summary>Cells not completed become cancelled; nothing more is submitted.</summary>
    public void Cancel()
    {
        Cancelled = true;
        for (int i = 0; i < _cells.Length; i++)
            if (_cells[i].Status is CellStatus.Waiting or CellStatus.Running) _cells[i] = _cells[i] with { Status = CellStatus.Cancelled };
    }

    /// <summary>`retry-failed`: failed (and cancelled) cells wait again with fresh attempts, keeping their last reason.</summary>
    public void RetryFailed()
    {
        Cancelled = false;
        for (int i = 0; i < _cells.Length; i++)
            if (_cells[i].Status is CellStatus.Failed or CellStatus.Cancelled) _cells[i] = _cells[i] with { Status = CellStatus.Waiting, Attempts = 0 };
    }
}
