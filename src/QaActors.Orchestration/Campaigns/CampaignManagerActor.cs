using System.Collections.Immutable;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using QaActors.Campaigns;
using QaActors.Learning;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Training;

namespace QaActors.Orchestration.Campaigns;

/// <summary>What a campaign manager talks to.</summary>
/// <param name="Experiments">The experiment registry: a campaign's experiments are listed by `qa experiment list` too.</param>
public sealed record CampaignServices(IActorRef Trainers, IActorRef QuotaLedger, IActorRef Experiments, Func<IActorRef> Registry, TimeSpan AskTimeout)
{
    /// <summary>How often the manager refreshes the user's quota and checks its running cells.</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>A running cell not heard of for this long is looked up and resumed (its trainer may have moved or died).</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromSeconds(20);
}

/// <summary>
/// One campaign (a sharded, persistent entity keyed by campaign id; docs/campaigns.md, "On a node"). It expands the
/// grid from the campaign file it was created with, submits cells to the trainer shard in grid order within
/// max-concurrent (qpu cells only while the user's quota lasts), records each result, retries a failed experiment up
/// to max-retries times keeping the reason, and continues by itself: on recovery it resumes the cells that were in
/// flight (a trainer attaches the listener, or continues from its last persisted step), and the campaign registry
/// wakes every open campaign after a node loss or a full restart. The policy is <see cref="CampaignProgress"/>.
/// </summary>
public sealed class CampaignManagerActor : ReceivePersistentActor, IWithTimers
{
    private sealed record Tick;
    private sealed record QuotaChecked(bool QpuAllowed);
    private sealed record SummaryChecked(string ExperimentId, ExperimentSummary? Summary, bool Missing);

    private readonly string _id;
    private readonly CampaignServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private CampaignCreated? _created;
    private CampaignProgress? _progress;
    private readonly Dictionary<string, DateTimeOffset> _submittedAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _heard = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _steps = new(StringComparer.Ordinal);
    private bool _qpuAllowed = true;

    public override string PersistenceId { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string campaignId, CampaignServices services) =>
        Akka.Actor.Props.Create(() => new CampaignManagerActor(campaignId, services));

    public CampaignManagerActor(string campaignId, CampaignServices services)
    {
        _id = campaignId;
        _services = services;
        PersistenceId = "campaign-" + campaignId;

        Recover<CampaignCreated>(Apply);
        Recover<CellSubmitted>(Apply);
        Recover<CellCompleted>(Apply);
        Recover<CellFailed>(Apply);
        Recover<CampaignCancelled>(Apply);
        Recover<FailedCellsRetried>(Apply);
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<CreateCampaign>(Create);
        Command<GetCampaignStatus>(m => Sender.Tell(Status(m.WithCells ? m.CellOffset : -1)));
        Command<GetCampaignSpec>(_ => Sender.Tell(_created is { } c ? new CampaignSpecText(c.CampaignId, c.User, c.Name, c.Source, c.SpecText) : new CampaignUnknown(_id)));
        Command<WakeCampaign>(_ => { });
        Command<CancelCampaign>(_ =>
        {
            if (_progress is null) { Sender.Tell(new CampaignUnknown(_id)); return; }
            var sender = Sender;
            Persist(new CampaignCancelled(DateTimeOffset.UtcNow), e =>
            {
                foreach (var c in _progress.InFlight) _services.Trainers.Tell(new PauseExperiment(c.ExperimentId));
                Apply(e);
                Settle();
                sender.Tell(Status(-1));
            });
        });
        Command<RetryFailedCells>(_ =>
        {
            if (_progress is null) { Sender.Tell(new CampaignUnknown(_id)); return; }
            var sender = Sender;
            Persist(new FailedCellsRetried(DateTimeOffset.UtcNow), e =>
            {
                Apply(e);
                _services.Registry().Tell(new CampaignReopenedNotice(_id));
                sender.Tell(Status(-1));
                Pump();
            });
        });
        Command<StepReport>(r =>
        {
            _heard[r.ExperimentId] = DateTimeOffset.UtcNow;
            _steps[r.ExperimentId] = r.Step;
        });
        Command<ExperimentCompleted>(c => OnCompleted(c.Summary));
        Command<ExperimentFailed>(OnFailed);
        Command<Tick>(_ => OnTick());
        Command<QuotaChecked>(q =>
        {
            bool was = _qpuAllowed;
            _qpuAllowed = q.QpuAllowed;
            if (!was && q.QpuAllowed) Pump();
        });
        Command<SummaryChecked>(OnSummaryChecked);
        // The experiment registry's answers: a failed registration only hides the experiment from `experiment list`.
        Command<Status.Success>(_ => { });
        Command<Status.Failure>(f => _log.Warning("campaign {0}: an experiment was not registered for `experiment list`: {1}", _id, f.Cause.Message));
    }

    // ---- state (the same on the command path and in recovery) ----

    private void Apply(CampaignCreated e)
    {
        _created = e;
        var spec = CampaignParser.Parse(e.SpecText, e.Source).WithName(e.Name);
        _progress = new CampaignProgress(e.CampaignId, spec, e.User);
    }

    private void Apply(CellSubmitted e)
    {
        _progress!.Submitted(e.ExperimentId, e.Attempt);
        _submittedAt[e.ExperimentId] = e.At;
    }

    private void Apply(CellCompleted e)
    {
        var result = JsonSerializer.Deserialize<CellResult>(e.ResultJson, CampaignReport.JsonOptions)
            ?? throw new InvalidDataException($"campaign {_id}: the result of {e.ExperimentId} is empty");
        _progress!.Completed(result);
    }

    private void Apply(CellFailed e) => _progress!.Failed(e.ExperimentId, e.Reason, e.Final);

    private void Apply(CampaignCancelled _) => _progress!.Cancel();

    private void Apply(FailedCellsRetried _) => _progress!.RetryFailed();

    private void OnRecovered()
    {
        if (_progress is null || _progress.Finished) return;
        Timers.StartPeriodicTimer("tick", new Tick(), _services.Tick);
        // The cells that were in flight: a running trainer attaches this listener, a stopped one continues from its
        // last persisted step, a finished one answers with its completion.
        foreach (var c in _progress.InFlight) Resume(c.ExperimentId);
        Pump();
    }

    // ---- commands ----

    private void Create(CreateCampaign m)
    {
        if (_created is not null)
        {
            if (_created.User == m.User) Sender.Tell(new CampaignAccepted(_id, Created: false));
            else Sender.Tell(new CampaignRejected(_id, $"campaign '{_id}' belongs to another user"));
            return;
        }
        CampaignProgress check;
        try { check = new CampaignProgress(m.CampaignId, CampaignParser.Parse(m.SpecText, m.Source).WithName(m.Name), m.User); }
        catch (CampaignSpecException e) { Sender.Tell(new CampaignRejected(_id, e.Message)); return; }
        if (CampaignGrid.CampaignId(check.Spec, m.User) != _id)
        {
            Sender.Tell(new CampaignRejected(_id, $"campaign id '{_id}' does not belong to this file, name and user ({CampaignGrid.CampaignId(check.Spec, m.User)})"));
            return;
        }
        var sender = Sender;
        Persist(new CampaignCreated(m.CampaignId, m.User, m.Name, m.Source, m.SpecText, m.DataDir, m.Solver, DateTimeOffset.UtcNow, m.DataSizes), e =>
        {
            Apply(e);
            _services.Registry().Tell(new RegisterCampaign(_id, e.User, e.Name));
            sender.Tell(new CampaignAccepted(_id, Created: true));
            Timers.StartPeriodicTimer("tick", new Tick(), _services.Tick);
            Pump();
        });
    }

    /// <summary>Submits what the policy allows now: one persisted record per submission, then the StartExperiment.</summary>
    private void Pump()
    {
        if (_progress is null) return;
        var next = _progress.NextToSubmit(_qpuAllowed);
        if (next.Count == 0)
        {
            if (_progress.Finished) Settle();
            return;
        }
        var now = DateTimeOffset.UtcNow;
        PersistAll(next.Select(id => new CellSubmitted(id, _progress[id].Attempts + 1, now)), e =>
        {
            Apply(e);
            _heard[e.ExperimentId] = e.At;
            var spec = SpecOf(e.ExperimentId);
            _services.Experiments.Tell(new RegisterExperiment(new ExperimentRegistered(spec.ExperimentId, spec.Method, spec.User, spec.CreatedAt)));
            _services.Trainers.Tell(new StartExperiment(spec, Self));
        });
    }

    /// <summary>
    /// The experiment spec of a cell: a function of the campaign record alone (its creation time included), so the
    /// spec sent after a restart or from another node is the one the trainer already has.
    /// </summary>
    private ExperimentSpec SpecOf(string experimentId)
    {
        var c = _created!;
        var cell = _progress!.CellOf(experimentId);
        var config = CampaignData.ConfigOf(cell, c.DataSizes);
        var task = new PairTaskRef(cell.Dataset, cell.ClassA, cell.ClassB, cell.Settings.TrainSize, cell.Settings.TestSize, cell.Seed, c.DataDir);
        return LearningProcedure.Spec(experimentId, config, task, cell.Settings.Fallback, c.User, c.Solver) with { CreatedAt = c.CreatedAt };
    }

    private void Resume(string experimentId)
    {
        _heard[experimentId] = DateTimeOffset.UtcNow;
        _services.Trainers.Tell(new ResumeExperiment(experimentId, Self));
    }

    private void OnCompleted(ExperimentSummary s)
    {
        string id = s.Spec.ExperimentId;
        if (_progress is null || !_progress.Contains(id) || _progress[id].Status != CellStatus.Running) return;
        var result = _progress[id] with
        {
            Status = CellStatus.Completed,
            History = s.History.Select(h => new HistoryPoint(h.Step, h.Values.ToImmutableSortedDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal))).ToImmutableArray(),
            Provenance = new CellProvenance(s.Totals.SamplerCounts, s.Totals.FallbackReasons, s.Totals.QpuAccessMicros / 1e6,
                s.Totals.MeanChainBreakFraction, s.Totals.ChainBreakSamples, s.Totals.ClippedBiases),
            WallSeconds = _submittedAt.TryGetValue(id, out var at) ? (DateTimeOffset.UtcNow - at).TotalSeconds : 0,
            Node = s.RunningOn,
        };
        Persist(new CellCompleted(id, JsonSerializer.Serialize(result, CampaignReport.JsonOptions)), e =>
        {
            Apply(e);
            _steps.Remove(id);
            Pump();
        });
    }

    private void OnFailed(ExperimentFailed f)
    {
        string id = f.ExperimentId;
        if (_progress is null || !_progress.Contains(id) || _progress[id].Status != CellStatus.Running) return;
        // Another listener drives it (until trainers attach listeners): not a failure; the watchdog follows it up.
        if (f.Reason.Contains("already running", StringComparison.Ordinal)) return;
        // A resume of a cell whose submission was recorded but never reached a trainer (the node died in between): not
        // an attempt that failed, so it is started now with its spec.
        if (f.Reason.Contains("does not exist", StringComparison.Ordinal))
        {
            _heard[id] = DateTimeOffset.UtcNow;
            _services.Trainers.Tell(new StartExperiment(SpecOf(id), Self));
            return;
        }
        var decision = _progress.Decide(id);
        int attempt = _progress[id].Attempts;
        _log.Warning("campaign {0}: experiment {1} attempt {2} stopped: {3} ({4})", _id, id, attempt, f.Reason, decision);
        Persist(new CellFailed(id, attempt, f.Reason, decision == FailureDecision.GiveUp), e =>
        {
            Apply(e);
            Pump();
        });
    }

    private void OnTick()
    {
        if (_progress is null || _progress.Finished) return;
        string user = _created!.User;
        if (_progress.Grid.Any(c => c.Method == TrainingMethod.Qpu))
            _services.QuotaLedger.Ask<QuotaReport>(new GetQuota(user), _services.AskTimeout)
                .PipeTo(Self, success: r => new QuotaChecked(r.Accounts.FirstOrDefault(a => a.User == user) is not { } a || !double.IsFinite(a.LimitSeconds) || a.RemainingSeconds > 0),
                    failure: _ => new QuotaChecked(_qpuAllowed));
        var now = DateTimeOffset.UtcNow;
        foreach (var c in _progress.InFlight.ToList())
        {
            if (_heard.TryGetValue(c.ExperimentId, out var at) && now - at < _services.StaleAfter) continue;
            _heard[c.ExperimentId] = now;
            string id = c.ExperimentId;
            _services.Trainers.Ask<ExperimentSummary>(new GetExperimentSummary(id), _services.AskTimeout)
                .PipeTo(Self, success: s => new SummaryChecked(id, s, false),
                    failure: e => new SummaryChecked(id, null, e is KeyNotFoundException || e.InnerException is KeyNotFoundException));
        }
        Pump();
    }

    private void OnSummaryChecked(SummaryChecked m)
    {
        if (_progress is null || !_progress.Contains(m.ExperimentId) || _progress[m.ExperimentId].Status != CellStatus.Running) return;
        if (m.Summary is { Completed: true } s) OnCompleted(s);
        else if (m.Missing) _services.Trainers.Tell(new StartExperiment(SpecOf(m.ExperimentId), Self));
        else if (m.Summary is not null) Resume(m.ExperimentId);
        // An unanswered look-up (the trainer's node is gone): the next tick asks again.
    }

    private void Settle()
    {
        if (_progress is null) return;
        if (_progress.Finished)
        {
            Timers.Cancel("tick");
            _services.Registry().Tell(new CampaignSettledNotice(_id, _progress.State));
        }
    }

    /// <param name="offset">First cell of the page; -1 for the counts without cells.</param>
    private object Status(int offset = 0)
    {
        if (_progress is null || _created is null) return new CampaignUnknown(_id);
        var p = _progress;
        var page = new List<string>();
        int chars = 2, i = Math.Max(0, offset);
        if (offset >= 0)
            for (; i < p.Cells.Count; i++)
            {
                string cell = JsonSerializer.Serialize(p.Cells[i], CampaignReport.JsonOptions);
                if (page.Count > 0 && chars + cell.Length + 1 > CampaignStatus.PageChars) break;
                page.Add(cell);
                chars += cell.Length + 1;
            }
        int? next = offset >= 0 && i < p.Cells.Count ? i : null;
        return new CampaignStatus(_id, _created.User, _created.Name, p.State, p.Cells.Count, p.Count(CellStatus.Completed), p.Count(CellStatus.Running),
            p.Count(CellStatus.Waiting), p.Count(CellStatus.Failed), p.Count(CellStatus.Cancelled),
            "[" + string.Join(",", page) + "]", next, _steps.ToImmutableSortedDictionary(StringComparer.Ordinal));
    }
}
