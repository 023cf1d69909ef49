using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using QaActors.Orchestration.Configuration;
using QaActors.Sampling;

namespace QaActors.Orchestration.Gateway;

/// <summary>
/// The only path to one QPU solver. Work arrives as single jobs or as a step's batch (<see cref="SampleBatch"/>) and
/// moves through: plan (the backend finds how many problems of the structure one call carries, off this thread), a
/// call unit of that many problems, weighted fair choice of the next user (start-time fair queueing on QPU time),
/// deadline and breaker checks, a quota reservation for the call (estimate × reserve factor) in the persistent
/// <see cref="QuotaLedgerActor"/>, a token from the rate limiter, then the call; afterwards the real qpu_access_time is
/// charged. A call whose problems the QPU accepted but whose answer was lost is charged its reservation, and the
/// problems are looked up again later to charge what they really used. The weights are the user registry's
/// (<see cref="FairShareWeights"/>). At most max-in-flight units are between planning and answer. When the QPU cannot serve (unreachable,
/// breaker open, errors, quota spent, deadline near) each problem goes to its fallback pool, at the model's
/// temperature, and its reply says why; with fallback "none" it waits (bounded backoff) until the QPU is back, or is
/// refused when its quota is spent. Nothing here blocks: the backend and the ledger are reached with tasks and asks
/// piped back to the actor.
/// </summary>
public sealed class QpuGatewayActor : ReceiveActor, IWithTimers
{
    /// <summary>Problems of one experiment that travel together: one call once planned.</summary>
    private sealed class Unit(ImmutableArray<SampleJob> jobs, IActorRef replyTo, QpuJobSettings settings, QpuPlan? plan)
    {
        public ImmutableArray<SampleJob> Jobs { get; } = jobs;
        public IActorRef ReplyTo { get; } = replyTo;
        public QpuJobSettings Settings { get; } = settings;
        public QpuPlan? Plan { get; } = plan;
        public double Estimate { get; set; }
        public long ReservationId { get; set; }
        /// <summary>The reservation's label, which the call's problems carry at the QPU (<see cref="QuotaLabels"/>).</summary>
        public string? Label { get; set; }
        public string User => Jobs[0].User;
        public string Fallback => Jobs[0].Fallback;
        public DateTimeOffset? Deadline => Jobs[0].Deadline;
    }

    // Internal messages: never leave this actor, so not IQaMessage (no serialization binding needed).
    private sealed record Planned(Unit U, QpuPlan Plan);
    private sealed record PlanFailed(Unit U, Exception Error);
    private sealed record Admitted(Unit U, object Reply);
    private sealed record AdmissionFailed(Unit U, Exception Error);
    private sealed record QpuDone(Unit U, IReadOnlyList<SampleSet> Samples);
    private sealed record QpuFailed(Unit U, Exception Error);
    /// <summary>
    /// Look again, by the reservation's label, at the problems of a call whose answer was lost or whose gateway was
    /// (its reservation was charged in doubt). <paramref name="Own"/>: this gateway's call, whose estimate the fair queue
    /// holds as used. <paramref name="NoneSentAfter"/>: for an orphaned call, the time after which no problem of it can
    /// still reach the QPU, so that what is listed then is all it used; null for a call that has ended.
    /// </summary>
    private sealed record LookUp(string User, long ReservationId, double Estimate, string Label, bool Own, DateTimeOffset? NoneSentAfter, int Attempt, DateTimeOffset Since);
    private sealed record LookedUp(LookUp Of, LabelUsage? Usage, Exception? Error);
    private sealed record AdoptNow
    {
        public static readonly AdoptNow Instance = new();
    }
    private sealed record Adopted(object Reply);
    private sealed record AdoptFailed(Exception Error);
    private sealed record RefreshWeights
    {
        public static readonly RefreshWeights Instance = new();
    }
    private sealed record WeightsFetched(object Reply);
    private sealed record WeightsFailed(Exception Error);
    private sealed record Pump
    {
        public static readonly Pump Instance = new();
    }

    private readonly IQpuBackend _backend;
    private readonly IActorRef _ledger;
    private readonly IActorRef? _users;
    private readonly FairShareWeights _weights;
    private bool _refreshingWeights;
    private DateTimeOffset _weightsAskedAt = DateTimeOffset.MinValue;
    private readonly IReadOnlyDictionary<string, IActorRef> _fallbacks;
    private readonly GatewaySettings _gs;
    private readonly QuotaSettings _qs;
    private readonly TimeProvider _clock;
    private readonly TokenBucket _bucket;
    private readonly CircuitBreakerState _breaker;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    // Units waiting for their turn, and the users' virtual times (weighted fair share of QPU time).
    private readonly FairQueue<Unit> _queue;
    private readonly Queue<Unit> _ready = new(); // reserved, waiting for a token
    private int _planning;
    private int _reserving;
    private int _inFlight;
    private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;
    private int _consecutiveRetries;
    private long _submitted, _servedByQpu, _fellBack, _lostAnswers;
    /// <summary>Reservations being looked up, so that one adopted twice is looked for once.</summary>
    private readonly HashSet<long> _lookingUp = [];
    private readonly SortedDictionary<string, double> _qpuMicrosByUser = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _fellBackByUser = new(StringComparer.Ordinal);

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="users">The user registry, whose fair-share weights win over qa.quotas.weights (null: configured weights only).</param>
    public static Props Props(IQpuBackend backend, IActorRef ledger, IReadOnlyDictionary<string, IActorRef> fallbacks,
        GatewaySettings gateway, QuotaSettings quotas, TimeProvider? clock = null, IActorRef? users = null) =>
        Akka.Actor.Props.Create(() => new QpuGatewayActor(backend, ledger, fallbacks, gateway, quotas, clock ?? TimeProvider.System, users));

    public QpuGatewayActor(IQpuBackend backend, IActorRef ledger, IReadOnlyDictionary<string, IActorRef> fallbacks,
        GatewaySettings gateway, QuotaSettings quotas, TimeProvider clock, IActorRef? users = null)
    {
        _backend = backend;
        _ledger = ledger;
        _users = users;
        _weights = new FairShareWeights(quotas.WeightOf);
        _fallbacks = fallbacks;
        _gs = gateway;
        _qs = quotas;
        _clock = clock;
        _bucket = new TokenBucket(gateway.RatePerSecond, gateway.Burst, clock);
        _breaker = new CircuitBreakerState(gateway.BreakerMaxFailures, gateway.BreakerResetTimeout, gateway.BreakerMaxResetTimeout, clock);
        _queue = new FairQueue<Unit>(_weights.WeightOf);

        Receive<SampleJob>(job => Enqueue([job], Sender));
        Receive<SampleBatch>(b =>
        {
            if (b.Confirm && b.Jobs.Length > 0) Sender.Tell(new SampleBatchAccepted(b.Jobs[0].JobId));
            Enqueue(b.Jobs, Sender);
        });
        Receive<Planned>(OnPlanned);
        Receive<PlanFailed>(OnPlanFailed);
        Receive<Admitted>(OnAdmitted);
        Receive<AdmissionFailed>(OnAdmissionFailed);
        Receive<QpuDone>(OnDone);
        Receive<QpuFailed>(OnFailed);
        Receive<StopSingleton>(_ => Context.Stop(Self));
        // Acknowledgements of charges and releases told to the ledger.
        Receive<Status.Success>(_ => { });
        Receive<Status.Failure>(f => _log.Warning("quota ledger refused a charge or release: {0}", f.Cause.Message));
        Receive<Pump>(_ => Run());
        Receive<LookUp>(OnLookUp);
        Receive<RefreshWeights>(_ => AskWeights());
        Receive<WeightsFetched>(OnWeights);
        Receive<WeightsFailed>(f =>
        {
            _refreshingWeights = false;
            _log.Warning("the user registry did not give the fair-share weights ({0}); the last known ones stay", f.Error.Message);
        });
        Receive<LookedUp>(OnLookedUp);
        Receive<AdoptNow>(_ => Adopt());
        Receive<Adopted>(OnAdopted);
        Receive<AdoptFailed>(f =>
        {
            _log.Warning("the quota ledger did not answer which calls of {0} are in doubt ({1}); asking again in 5 s", _backend.Solver, f.Error.Message);
            Timers.StartSingleTimer("adopt", AdoptNow.Instance, TimeSpan.FromSeconds(5));
        });
        Receive<GetGatewayStatus>(_ => Sender.Tell(new GatewayStatus(_backend.Solver, _breaker.State, _inFlight, QueuedProblems(),
            _submitted, _servedByQpu, _fellBack, _qpuMicrosByUser.ToImmutableSortedDictionary(StringComparer.Ordinal), _lostAnswers, UserStates())));
    }

    protected override void PreStart()
    {
        // Deadlines of queued requests are checked even when nothing else happens.
        Timers.StartPeriodicTimer("sweep", Pump.Instance, TimeSpan.FromMilliseconds(250));
        // Before any reservation of ours reaches the ledger (asks from one actor arrive in order): the calls an earlier
        // gateway of this solver left open or in doubt become ours to look up.
        Adopt();
        if (_users is null) return;
        AskWeights();
        Timers.StartPeriodicTimer("weights", RefreshWeights.Instance, _gs.WeightsRefresh);
    }

    private void Adopt() =>
        _ledger.Ask<object>(new AdoptCalls(_backend.Solver), _gs.AskTimeout)
            .PipeTo(Self, success: r => new Adopted(r), failure: e => new AdoptFailed(e));

    private void OnAdopted(Adopted a)
    {
        if (a.Reply is not CallsInDoubt calls)
        {
            Self.Tell(new AdoptFailed(new InvalidOperationException($"the ledger answered {a.Reply.GetType().Name}")));
            return;
        }
        var now = _clock.GetUtcNow();
        foreach (var c in calls.Calls)
        {
            if (!_lookingUp.Add(c.ReservationId)) continue;
            _log.Info("looking for the problems of {0}'s call {1} (reservation {2}, charged {3} µs in doubt)", c.User, c.Label, c.ReservationId, c.ChargedMicros);
            // An orphaned call of the earlier gateway cannot submit anything later than one call timeout from now.
            var look = new LookUp(c.User, c.ReservationId, c.ChargedMicros, c.Label, Own: false, c.Orphaned ? now + _gs.CallTimeout : null, 0, now);
            Timers.StartSingleTimer(LookUpKey(look), look, _gs.LostAnswerFirstLook);
        }
    }

    private void AskWeights()
    {
        if (_users is null || _refreshingWeights) return;
        _refreshingWeights = true;
        _weightsAskedAt = _clock.GetUtcNow();
        _users.Ask<object>(Users.ListUsers.Instance, _gs.AskTimeout)
            .PipeTo(Self, success: r => new WeightsFetched(r), failure: e => new WeightsFailed(e));
    }

    private void OnWeights(WeightsFetched f)
    {
        _refreshingWeights = false;
        if (f.Reply is not Users.UserList list)
        {
            _log.Warning("the user registry answered {0} for the fair-share weights; the last known ones stay", f.Reply.GetType().Name);
            return;
        }
        IReadOnlyList<string> changed;
        try { changed = _weights.Update(list.Users.Select(u => (u.Name, u.Weight))); }
        catch (ArgumentOutOfRangeException e)
        {
            _log.Warning("the user registry's fair-share weights were refused ({0}); the last known ones stay", e.Message);
            return;
        }
        foreach (var u in changed) _log.Info("fair-share weight of {0} is now {1}", u, _weights.WeightOf(u));
    }

    private int QueuedProblems() => _queue.Queued.Sum(x => x.Item.Jobs.Length);

    private ImmutableList<GatewayUserState> UserStates()
    {
        var queued = _queue.Queued.GroupBy(x => x.User, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(x => x.Item.Jobs.Length), StringComparer.Ordinal);
        return queued.Keys.Concat(_qpuMicrosByUser.Keys).Concat(_fellBackByUser.Keys).Concat(_weights.RegistryUsers).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(u => new GatewayUserState(u, _weights.WeightOf(u), queued.GetValueOrDefault(u), _qpuMicrosByUser.GetValueOrDefault(u), _fellBackByUser.GetValueOrDefault(u)))
            .ToImmutableList();
    }

    private void Enqueue(ImmutableArray<SampleJob> jobs, IActorRef replyTo)
    {
        if (jobs.IsDefaultOrEmpty) return;
        var first = jobs[0];
        string? bad = null;
        if (!Fallbacks.All.Contains(first.Fallback)) bad = $"fallback '{first.Fallback}' is not one of gibbs, anneal, none";
        else if (jobs.Any(j => j.User != first.User || j.ExperimentId != first.ExperimentId || j.Fallback != first.Fallback || j.Qpu != first.Qpu))
            bad = "the jobs of one batch must share user, experiment, fallback and QPU settings";
        var settings = first.Qpu ?? QpuJobSettings.AsGiven;
        if (bad is null && settings.MaxTiles < 1) bad = $"max tiles {settings.MaxTiles} must be at least 1";
        if (bad is not null)
        {
            foreach (var j in jobs) replyTo.Tell(new SampleRefused(j.JobId, bad));
            return;
        }
        _queue.Enqueue(first.User, new Unit(jobs, replyTo, settings, null));
        // A user the registry's copy does not have yet (added since the last refresh): read the weights again, at most once a second.
        if (_users is not null && !_weights.Knows(first.User) && _clock.GetUtcNow() - _weightsAskedAt >= TimeSpan.FromSeconds(1)) AskWeights();
        Run();
    }

    private int Slots => _planning + _reserving + _ready.Count + _inFlight;

    /// <summary>Moves work forward as far as limits allow. Called after every event.</summary>
    private void Run()
    {
        if (_breaker.Tick()) Publish("reset timeout passed; one probe allowed");
        SweepDeadlines();
        SubmitReady();
        while (Slots < _gs.MaxInFlight && _queue.Count > 0)
        {
            if (!QpuOpen(out string? closedReason))
            {
                // The QPU is not taking calls: everything that may fall back does; "none" waits.
                DivertAllFallbackable(closedReason!);
                ScheduleWake();
                break;
            }
            if (!_queue.TryDequeue(out _, out var u)) break;
            _breaker.OnCallStarted();
            if (u.Plan is null)
            {
                _planning++;
                var cts = new CancellationTokenSource(_gs.CallTimeout);
                Task<QpuPlan> plan;
                try { plan = _backend.PlanAsync(u.Jobs[0].Problem, u.Settings, cts.Token); }
                catch (Exception e) { plan = Task.FromException<QpuPlan>(e); }
                plan.ContinueWith(_ => cts.Dispose(), TaskScheduler.Default);
                plan.PipeTo(Self, success: p => new Planned(u, p), failure: e => new PlanFailed(u, e));
            }
            else Reserve(u);
        }
    }

    /// <summary>The unit's service starts (its estimate charged to the user's virtual time) with a quota reservation.</summary>
    private void Reserve(Unit u)
    {
        _queue.Start(u.User, u.Estimate);
        _reserving++;
        _ledger.Ask<object>(new ReserveQuota(u.User, u.Estimate * _qs.ReserveFactor, _backend.Solver), _gs.AskTimeout)
            .PipeTo(Self, success: r => new Admitted(u, r), failure: e => new AdmissionFailed(u, e));
    }

    private bool QpuOpen(out string? reason)
    {
        if (_breaker.State == BreakerState.Open) { reason = FallbackReasons.BreakerOpen; return false; }
        if (!_breaker.AllowsCall) { reason = FallbackReasons.BreakerOpen; return false; }
        if (_clock.GetUtcNow() < _pausedUntil) { reason = FallbackReasons.QpuBackoff; return false; }
        reason = null;
        return true;
    }

    private void DivertAllFallbackable(string reason)
    {
        foreach (var (_, u) in _queue.RemoveWhere(u => u.Fallback != Fallbacks.None)) Fallback(u, reason);
    }

    private void SweepDeadlines()
    {
        var now = _clock.GetUtcNow();
        foreach (var (_, u) in _queue.RemoveWhere(u => u.Deadline is { } d && u.Fallback != Fallbacks.None && d - now <= _gs.DeadlineMargin))
            Fallback(u, FallbackReasons.Deadline);
    }

    private void ScheduleWake()
    {
        if (_breaker.State == BreakerState.HalfOpen && _clock.GetUtcNow() >= _pausedUntil) return; // the probe's answer wakes us
        var now = _clock.GetUtcNow();
        var until = _breaker.State == BreakerState.Open ? _breaker.OpenUntil : _pausedUntil;
        var delay = until - now;
        if (delay < TimeSpan.FromMilliseconds(1)) delay = TimeSpan.FromMilliseconds(1);
        Timers.StartSingleTimer("wake", Pump.Instance, delay);
    }

    private void OnPlanned(Planned m)
    {
        _planning--;
        var u = m.U;
        int per = Math.Max(1, Math.Min(m.Plan.CopiesPerCall, u.Settings.MaxTiles));
        var units = new List<Unit>();
        for (int start = 0; start < u.Jobs.Length; start += per)
        {
            var part = new Unit(u.Jobs.Skip(start).Take(per).ToImmutableArray(), u.ReplyTo, u.Settings, m.Plan);
            try { part.Estimate = _backend.EstimateAccessMicros(m.Plan, part.Jobs.Length, part.Jobs[0].Request); }
            catch (Exception e)
            {
                _queue.Done(u.User, 0);
                _breaker.OnCallAbandoned();
                Refuse(u, $"cannot estimate the QPU access time: {e.Message}");
                Run();
                return;
            }
            units.Add(part);
        }
        // The first call goes on at once (it holds the slot); the others are next in this user's queue, in order.
        for (int i = units.Count - 1; i >= 1; i--) _queue.PushFront(u.User, units[i]);
        Reserve(units[0]);
        Run();
    }

    private void OnPlanFailed(PlanFailed f)
    {
        _planning--;
        var u = f.U;
        var error = Unwrap(f.Error);
        var kind = _backend.Classify(error);
        if (kind == QpuFailureKind.BadRequest)
        {
            _breaker.OnCallAbandoned();
            Finished(u, 0);
            if (u.Fallback != Fallbacks.None) Fallback(u, $"{FallbackReasons.QpuError}: problem cannot be placed ({error.Message})");
            else Refuse(u, $"the QPU cannot take this problem: {error.Message}");
            Run();
            return;
        }
        // The solver could not be reached (e.g. an outage when the experiment starts): like a failed call.
        if (_breaker.OnFailure()) Publish($"{_breaker.ConsecutiveFailures} consecutive failures, last: {error.Message}");
        _log.Warning("QPU solver {0} unavailable while planning ({1}): {2}", _backend.Solver, error.GetType().Name, error.Message);
        FailedUnavailable(u, error);
        Run();
    }

    private void OnAdmitted(Admitted a)
    {
        _reserving--;
        var u = a.U;
        switch (a.Reply)
        {
            case QuotaReservedReply r:
                u.ReservationId = r.ReservationId;
                u.Label = r.Label;
                _ready.Enqueue(u);
                break;
            case QuotaDenied d:
                _breaker.OnCallAbandoned();
                Finished(u, u.Estimate);
                if (u.Fallback != Fallbacks.None) Fallback(u, FallbackReasons.Quota);
                else Refuse(u, d.Reason);
                break;
            default:
                _breaker.OnCallAbandoned();
                Finished(u, u.Estimate);
                foreach (var j in u.Jobs) u.ReplyTo.Tell(new SampleFailed(j.JobId, $"quota ledger answered {a.Reply.GetType().Name}"));
                break;
        }
        Run();
    }

    private void OnAdmissionFailed(AdmissionFailed f)
    {
        _reserving--;
        _breaker.OnCallAbandoned();
        var u = f.U;
        Finished(u, u.Estimate);
        _log.Warning("quota ledger did not answer for {0} problem(s) of {1}: {2}", u.Jobs.Length, u.Jobs[0].ExperimentId, f.Error.Message);
        if (u.Fallback != Fallbacks.None) Fallback(u, FallbackReasons.LedgerUnavailable);
        else Refuse(u, $"the quota ledger did not answer ({f.Error.Message}); the request was not submitted");
        Run();
    }

    /// <summary>Submits reserved calls while tokens last; otherwise wakes up when the next token is due.</summary>
    private void SubmitReady()
    {
        while (_ready.Count > 0)
        {
            // Only the breaker opening or a backoff stops admitted calls (in half-open the one ready call is the probe itself).
            if (_breaker.State == BreakerState.Open || _clock.GetUtcNow() < _pausedUntil)
            {
                // The QPU closed while these waited: give the reservations back and requeue in front.
                while (_ready.Count > 0)
                {
                    var back = _ready.Dequeue();
                    _ledger.Tell(new ReleaseQuota(back.User, back.ReservationId));
                    Requeue(back, back.Estimate);
                }
                _breaker.OnCallAbandoned();
                ScheduleWake();
                return;
            }
            if (!_bucket.TryTake())
            {
                var wait = _bucket.TimeUntilNext();
                Timers.StartSingleTimer("token", Pump.Instance, wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait);
                return;
            }
            var u = _ready.Dequeue();
            _inFlight++;
            _submitted++;
            Task<IReadOnlyList<SampleSet>> call;
            var cts = new CancellationTokenSource(_gs.CallTimeout);
            try
            {
                // Labelled with the reservation, so the problems can be found again whatever becomes of this gateway.
                call = _backend.SampleAsync(u.Jobs.Select(j => j.Problem).ToArray(), u.Jobs.Select(j => j.Request with { Label = u.Label }).ToArray(), u.Settings, cts.Token);
            }
            catch (Exception e) { call = Task.FromException<IReadOnlyList<SampleSet>>(e); }
            call.ContinueWith(_ => cts.Dispose(), TaskScheduler.Default);
            call.PipeTo(Self, success: s => new QpuDone(u, s), failure: e => new QpuFailed(u, e));
        }
    }

    /// <summary>Back to the front of its user's queue, with the estimate's virtual time returned.</summary>
    private void Requeue(Unit u, double vtRefund) => _queue.Requeue(u.User, u, vtRefund);

    private void OnDone(QpuDone d)
    {
        _inFlight--;
        var u = d.U;
        if (d.Samples.Count != u.Jobs.Length)
        {
            OnFailed(new QpuFailed(u, new InvalidOperationException($"the QPU backend returned {d.Samples.Count} sample sets for {u.Jobs.Length} problems")));
            return;
        }
        if (_breaker.OnSuccess()) Publish("probe succeeded");
        _consecutiveRetries = 0;
        _pausedUntil = DateTimeOffset.MinValue;
        // Each result carries its share of the call's access time; their sum is what the call cost.
        var shares = d.Samples.Select(s => s.Info.Timing.TryGetValue("qpu_access_time", out var t) ? t : double.NaN).ToArray();
        double actual = shares.Any(double.IsNaN) ? u.Estimate : shares.Sum();
        _ledger.Tell(new ChargeQuota(u.User, u.ReservationId, actual));
        Finished(u, u.Estimate - actual);
        _qpuMicrosByUser[u.User] = _qpuMicrosByUser.GetValueOrDefault(u.User) + actual;
        _servedByQpu += u.Jobs.Length;
        for (int i = 0; i < u.Jobs.Length; i++)
            u.ReplyTo.Tell(new SampleReply(u.Jobs[i].JobId, u.Jobs[i].ForReply(d.Samples[i]), _backend.SamplerName, null, double.IsNaN(shares[i]) ? actual / u.Jobs.Length : shares[i]));
        Run();
    }

    private void OnFailed(QpuFailed f)
    {
        _inFlight--;
        var u = f.U;
        var error = Unwrap(f.Error);
        var inDoubt = _backend.ProblemsInDoubt(error);
        if (inDoubt.Count > 0)
        {
            // The QPU took the problems and the answer was lost: they may have run, so the reservation is charged,
            // never released, and a later look at the problems charges what they really used.
            _lostAnswers++;
            _ledger.Tell(new ChargeQuotaInDoubt(u.User, u.ReservationId));
            // The fair queue keeps the estimate as used (the refund below gives it back), until the look finds the truth.
            _queue.Adjust(u.User, u.Estimate);
            _log.Info("answer of {0}'s call lost (problems {1}); its reservation {2} is charged until a look finds what they used", u.User, string.Join(",", inDoubt), u.ReservationId);
            if (u.Label is { } label && _lookingUp.Add(u.ReservationId))
            {
                var look = new LookUp(u.User, u.ReservationId, u.Estimate, label, Own: true, NoneSentAfter: null, 0, _clock.GetUtcNow());
                Timers.StartSingleTimer(LookUpKey(look), look, _gs.LostAnswerFirstLook);
            }
        }
        // Nothing reached the QPU (or it ended without running): no QPU time was used, the reservation is released.
        else _ledger.Tell(new ReleaseQuota(u.User, u.ReservationId));
        var kind = _backend.Classify(error);
        if (kind == QpuFailureKind.BadRequest)
        {
            _breaker.OnCallAbandoned();
            Finished(u, u.Estimate);
            if (u.Fallback != Fallbacks.None) Fallback(u, $"{FallbackReasons.QpuError}: problem rejected ({error.Message})");
            else Refuse(u, $"the QPU rejected the problem: {error.Message}");
            Run();
            return;
        }
        if (_breaker.OnFailure()) Publish($"{_breaker.ConsecutiveFailures} consecutive failures, last: {error.Message}");
        _log.Warning("QPU call for {0} problem(s) of {1} failed ({2}): {3}", u.Jobs.Length, u.Jobs[0].ExperimentId, error.GetType().Name, error.Message);
        FailedUnavailable(u, error);
        Run();
    }

    private static string LookUpKey(LookUp l) => "look-up-" + l.ReservationId.ToString(global::System.Globalization.CultureInfo.InvariantCulture);

    private void OnLookUp(LookUp l)
    {
        var cts = new CancellationTokenSource(_gs.CallTimeout);
        Task<LabelUsage?> look;
        try { look = _backend.UsageOfLabelAsync(l.Label, cts.Token); }
        catch (Exception e) { look = Task.FromException<LabelUsage?>(e); }
        look.ContinueWith(_ => cts.Dispose(), TaskScheduler.Default);
        look.PipeTo(Self, success: u => new LookedUp(l, u, null), failure: e => new LookedUp(l, null, Unwrap(e)));
    }

    private void OnLookedUp(LookedUp r)
    {
        var l = r.Of;
        var now = _clock.GetUtcNow();
        if (r.Error is null && r.Usage is null)
        {
            _lookingUp.Remove(l.ReservationId);
            _log.Warning("the QPU backend of {0} cannot list problems by label: {1}'s reservation {2} stays charged", _backend.Solver, l.User, l.ReservationId);
            return;
        }
        // A failed call of ours sends nothing more: its problems are all listed once the QPU took them. An orphaned
        // call may still be sending (its gateway's node left gracefully) until NoneSentAfter; after that what is listed
        // is all it sent, and nothing listed means it never reached the QPU.
        double? used = r.Usage is { Unfinished: 0 } u && (l.NoneSentAfter is { } t ? now >= t : u.Problems > 0) ? u.Micros : null;
        if (used is { } micros)
        {
            _lookingUp.Remove(l.ReservationId);
            _log.Info("the problems of {0}'s call {1} used {2} µs of QPU time ({3} problem(s)), charged instead of its reservation", l.User, l.Label, micros, r.Usage!.Problems);
            _ledger.Tell(new SettleQuota(l.User, l.ReservationId, micros));
            if (l.Own) _queue.Adjust(l.User, micros - l.Estimate);
            _qpuMicrosByUser[l.User] = _qpuMicrosByUser.GetValueOrDefault(l.User) + micros;
            return;
        }
        if (now - l.Since >= _gs.LostAnswerGiveUpAfter)
        {
            _lookingUp.Remove(l.ReservationId);
            _log.Warning("gave up looking for the problems of {0}'s call {1} after {2}: its reservation stays charged ({3})",
                l.User, l.Label, _gs.LostAnswerGiveUpAfter, r.Error?.Message ?? (r.Usage is { Problems: 0 } ? "none listed" : "still unfinished"));
            return;
        }
        double ms = Math.Min(_gs.LostAnswerMaxBackoff.TotalMilliseconds, _gs.LostAnswerFirstLook.TotalMilliseconds * Math.Pow(2, Math.Min(30, l.Attempt + 1)));
        var next = l with { Attempt = l.Attempt + 1 };
        Timers.StartSingleTimer(LookUpKey(next), next, TimeSpan.FromMilliseconds(ms));
    }

    /// <summary>The QPU could not serve the unit: fall back, or wait with bounded exponential backoff (fallback none).</summary>
    private void FailedUnavailable(Unit u, Exception error)
    {
        if (u.Fallback != Fallbacks.None)
        {
            Finished(u, u.Estimate);
            Fallback(u, $"{FallbackReasons.QpuError}: {error.GetType().Name}");
            return;
        }
        _consecutiveRetries++;
        double ms = Math.Min(_gs.RetryMaxBackoff.TotalMilliseconds,
            _gs.RetryMinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(30, _consecutiveRetries - 1)));
        _pausedUntil = _clock.GetUtcNow() + TimeSpan.FromMilliseconds(ms);
        Requeue(u, u.Estimate);
        ScheduleWake();
    }

    /// <summary>A unit left the gateway's books; <paramref name="vtRefund"/> µs of estimated QPU time are returned to the user's virtual time.</summary>
    private void Finished(Unit u, double vtRefund) => _queue.Done(u.User, vtRefund);

    private void Refuse(Unit u, string reason)
    {
        foreach (var j in u.Jobs) u.ReplyTo.Tell(new SampleRefused(j.JobId, reason));
    }

    /// <summary>Each problem to the fallback pool, as it is (the model's temperature, its own request).</summary>
    private void Fallback(Unit u, string reason)
    {
        _fellBack += u.Jobs.Length;
        _fellBackByUser[u.User] = _fellBackByUser.GetValueOrDefault(u.User) + u.Jobs.Length;
        if (!_fallbacks.TryGetValue(u.Fallback, out var pool))
        {
            foreach (var j in u.Jobs) u.ReplyTo.Tell(new SampleRefused(j.JobId, $"no '{u.Fallback}' sampler pool is running to fall back to ({reason})"));
            return;
        }
        foreach (var j in u.Jobs) pool.Tell(new ClassicalJob(j, reason, u.ReplyTo));
    }

    private void Publish(string why)
    {
        _log.Info("QPU gateway {0}: breaker {1} ({2})", _backend.Solver, _breaker.State, why);
        Context.System.EventStream.Publish(new BreakerStateChanged(_backend.Solver, _breaker.State, why));
    }

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerException: { } i } ? Unwrap(i) : e;
}
