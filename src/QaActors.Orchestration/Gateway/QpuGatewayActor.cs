using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using QaActors.Orchestration.Configuration;
using QaActors.Sampling;

namespace QaActors.Orchestration.Gateway;

/// <summary>
/// The only path to one QPU solver. Per request: weighted fair choice of the next user (start-time
/// fair queueing on QPU time), deadline and breaker checks, a quota reservation (estimate ×
/// reserve factor) in the persistent <see cref="QuotaLedgerActor"/>, a token from the rate limiter,
/// then the call; afterwards the real qpu_access_time is charged. At most max-in-flight requests are
/// between reservation and answer. When the QPU cannot serve (breaker open, errors, quota spent,
/// deadline near) the request goes to its fallback pool and the reply says why; with fallback "none"
/// it waits (bounded backoff) until the QPU is back, or is refused when its quota is spent.
/// Nothing here blocks: the ledger and the QPU are reached with asks/tasks piped back to the actor.
/// </summary>
public sealed class QpuGatewayActor : ReceiveActor, IWithTimers
{
    private sealed class Pending(SampleJob job, IActorRef replyTo, double estimate)
    {
        public SampleJob Job { get; } = job;
        public IActorRef ReplyTo { get; } = replyTo;
        public double Estimate { get; } = estimate;
        public int Attempt { get; set; }
        public long ReservationId { get; set; }
    }

    private sealed class UserQueue
    {
        public readonly LinkedList<Pending> Jobs = new();
        public double VirtualTime;
        public int Active; // reserving, ready or in flight
    }

    // Internal messages: never leave this actor, so not IQaMessage (no serialization binding needed).
    private sealed record Admitted(Pending P, object Reply);
    private sealed record AdmissionFailed(Pending P, Exception Error);
    private sealed record QpuDone(Pending P, SampleSet Samples);
    private sealed record QpuFailed(Pending P, Exception Error);
    private sealed record Pump
    {
        public static readonly Pump Instance = new();
    }

    private readonly IQpuBackend _backend;
    private readonly IActorRef _ledger;
    private readonly IReadOnlyDictionary<string, IActorRef> _fallbacks;
    private readonly GatewaySettings _gs;
    private readonly QuotaSettings _qs;
    private readonly TimeProvider _clock;
    private readonly TokenBucket _bucket;
    private readonly CircuitBreakerState _breaker;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private readonly SortedDictionary<string, UserQueue> _users = new(StringComparer.Ordinal);
    private readonly Queue<Pending> _ready = new(); // reserved, waiting for a token
    private int _reserving;
    private int _inFlight;
    private int _queued;
    private double _systemVirtualTime;
    private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;
    private int _consecutiveRetries;
    private long _submitted, _servedByQpu, _fellBack;
    private readonly SortedDictionary<string, double> _qpuMicrosByUser = new(StringComparer.Ordinal);

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IQpuBackend backend, IActorRef ledger, IReadOnlyDictionary<string, IActorRef> fallbacks,
        GatewaySettings gateway, QuotaSettings quotas, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new QpuGatewayActor(backend, ledger, fallbacks, gateway, quotas, clock ?? TimeProvider.System));

    public QpuGatewayActor(IQpuBackend backend, IActorRef ledger, IReadOnlyDictionary<string, IActorRef> fallbacks,
        GatewaySettings gateway, QuotaSettings quotas, TimeProvider clock)
    {
        _backend = backend;
        _ledger = ledger;
        _fallbacks = fallbacks;
        _gs = gateway;
        _qs = quotas;
        _clock = clock;
        _bucket = new TokenBucket(gateway.RatePerSecond, gateway.Burst, clock);
        _breaker = new CircuitBreakerState(gateway.BreakerMaxFailures, gateway.BreakerResetTimeout, gateway.BreakerMaxResetTimeout, clock);

        Receive<SampleJob>(OnJob);
        Receive<Admitted>(OnAdmitted);
        Receive<AdmissionFailed>(OnAdmissionFailed);
        Receive<QpuDone>(OnDone);
        Receive<QpuFailed>(OnFailed);
        Receive<StopSingleton>(_ => Context.Stop(Self));
        // Acknowledgements of charges and releases told to the ledger.
        Receive<Status.Success>(_ => { });
        Receive<Status.Failure>(f => _log.Warning("quota ledger refused a charge or release: {0}", f.Cause.Message));
        Receive<Pump>(_ => Run());
        Receive<GetGatewayStatus>(_ => Sender.Tell(new GatewayStatus(_backend.Solver, _breaker.State, _inFlight, _queued,
            _submitted, _servedByQpu, _fellBack, _qpuMicrosByUser.ToImmutableSortedDictionary(StringComparer.Ordinal))));
    }

    protected override void PreStart() =>
        // Deadlines of queued requests are checked even when nothing else happens.
        Timers.StartPeriodicTimer("sweep", Pump.Instance, TimeSpan.FromMilliseconds(250));

    private void OnJob(SampleJob job)
    {
        if (!Fallbacks.All.Contains(job.Fallback))
        {
            Sender.Tell(new Status.Failure(new ArgumentException($"fallback '{job.Fallback}' is not one of gibbs, anneal, none")));
            return;
        }
        double estimate;
        try { estimate = _backend.EstimateAccessMicros(job.Problem, job.Request); }
        catch (Exception e)
        {
            Sender.Tell(new Status.Failure(new ArgumentException($"cannot estimate the QPU access time of job {job.JobId}: {e.Message}", e)));
            return;
        }
        var q = QueueOf(job.User);
        if (q.Jobs.Count == 0 && q.Active == 0)
            q.VirtualTime = Math.Max(q.VirtualTime, _systemVirtualTime); // no credit for idle time
        q.Jobs.AddLast(new Pending(job, Sender, estimate));
        _queued++;
        Run();
    }

    private UserQueue QueueOf(string user)
    {
        if (!_users.TryGetValue(user, out var q)) _users[user] = q = new UserQueue();
        return q;
    }

    private int Slots => _reserving + _ready.Count + _inFlight;

    /// <summary>Moves work forward as far as limits allow. Called after every event.</summary>
    private void Run()
    {
        if (_breaker.Tick()) Publish("reset timeout passed; one probe allowed");
        SweepDeadlines();
        SubmitReady();
        while (Slots < _gs.MaxInFlight)
        {
            var (user, q) = NextUser();
            if (q is null) break;
            var p = q.Jobs.First!.Value;
            if (!QpuOpen(out string? closedReason))
            {
                // The QPU is not taking calls: everything that may fall back does; "none" waits.
                DivertAllFallbackable(closedReason!);
                ScheduleWake();
                break;
            }
            q.Jobs.RemoveFirst();
            _queued--;
            q.Active++;
            _systemVirtualTime = Math.Max(_systemVirtualTime, q.VirtualTime);
            q.VirtualTime += p.Estimate / _qs.WeightOf(user);
            _reserving++;
            _breaker.OnCallStarted();
            double reserve = p.Estimate * _qs.ReserveFactor;
            _ledger.Ask<object>(new ReserveQuota(user, reserve), _gs.AskTimeout)
                .PipeTo(Self, success: r => new Admitted(p, r), failure: e => new AdmissionFailed(p, e));
        }
    }

    private (string, UserQueue?) NextUser()
    {
        string best = "";
        UserQueue? bq = null;
        foreach (var (u, q) in _users)
        {
            if (q.Jobs.Count == 0) continue;
            if (bq is null || q.VirtualTime < bq.VirtualTime) { best = u; bq = q; }
        }
        return (best, bq);
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
        foreach (var (_, q) in _users)
        {
            var node = q.Jobs.First;
            while (node is not null)
            {
                var next = node.Next;
                if (node.Value.Job.Fallback != Fallbacks.None)
                {
                    q.Jobs.Remove(node);
                    _queued--;
                    Fallback(node.Value, reason);
                }
                node = next;
            }
        }
    }

    private void SweepDeadlines()
    {
        if (_queued == 0) return;
        var now = _clock.GetUtcNow();
        foreach (var (_, q) in _users)
        {
            var node = q.Jobs.First;
            while (node is not null)
            {
                var next = node.Next;
                var j = node.Value.Job;
                if (j.Deadline is { } d && j.Fallback != Fallbacks.None && d - now <= _gs.DeadlineMargin)
                {
                    q.Jobs.Remove(node);
                    _queued--;
                    Fallback(node.Value, FallbackReasons.Deadline);
                }
                node = next;
            }
        }
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

    private void OnAdmitted(Admitted a)
    {
        _reserving--;
        var p = a.P;
        switch (a.Reply)
        {
            case QuotaReservedReply r:
                p.ReservationId = r.ReservationId;
                _ready.Enqueue(p);
                break;
            case QuotaDenied d:
                _breaker.OnCallAbandoned();
                Finished(p, p.Estimate);
                if (p.Job.Fallback != Fallbacks.None) Fallback(p, FallbackReasons.Quota);
                else p.ReplyTo.Tell(new SampleRefused(p.Job.JobId, d.Reason));
                break;
            default:
                _breaker.OnCallAbandoned();
                Finished(p, p.Estimate);
                p.ReplyTo.Tell(new Status.Failure(new InvalidOperationException($"quota ledger answered {a.Reply.GetType().Name}")));
                break;
        }
        Run();
    }

    private void OnAdmissionFailed(AdmissionFailed f)
    {
        _reserving--;
        _breaker.OnCallAbandoned();
        var p = f.P;
        Finished(p, p.Estimate);
        _log.Warning("quota ledger did not answer for job {0}: {1}", p.Job.JobId, f.Error.Message);
        if (p.Job.Fallback != Fallbacks.None) Fallback(p, FallbackReasons.LedgerUnavailable);
        else p.ReplyTo.Tell(new SampleRefused(p.Job.JobId, $"the quota ledger did not answer ({f.Error.Message}); the request was not submitted"));
        Run();
    }

    /// <summary>Submits reserved requests while tokens last; otherwise wakes up when the next token is due.</summary>
    private void SubmitReady()
    {
        while (_ready.Count > 0)
        {
            // Only the breaker opening or a backoff stops admitted requests (in half-open the one ready
            // request is the probe itself).
            if (_breaker.State == BreakerState.Open || _clock.GetUtcNow() < _pausedUntil)
            {
                // The QPU closed while these waited: give the reservations back and requeue in front.
                while (_ready.Count > 0)
                {
                    var back = _ready.Dequeue();
                    _ledger.Tell(new ReleaseQuota(back.Job.User, back.ReservationId));
                    Requeue(back);
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
            var p = _ready.Dequeue();
            _inFlight++;
            _submitted++;
            Task<SampleSet> call;
            var cts = new CancellationTokenSource(_gs.CallTimeout);
            try { call = _backend.SampleAsync(p.Job.Problem, p.Job.Request, cts.Token); }
            catch (Exception e) { call = Task.FromException<SampleSet>(e); }
            call.ContinueWith(_ => cts.Dispose(), TaskScheduler.Default);
            call.PipeTo(Self, success: s => new QpuDone(p, s), failure: e => new QpuFailed(p, e));
        }
    }

    private void Requeue(Pending p)
    {
        var q = QueueOf(p.Job.User);
        q.Active--;
        q.VirtualTime -= p.Estimate / _qs.WeightOf(p.Job.User);
        q.Jobs.AddFirst(p);
        _queued++;
    }

    private void OnDone(QpuDone d)
    {
        _inFlight--;
        var p = d.P;
        if (_breaker.OnSuccess()) Publish("probe succeeded");
        _consecutiveRetries = 0;
        _pausedUntil = DateTimeOffset.MinValue;
        double actual = d.Samples.Info.Timing.TryGetValue("qpu_access_time", out var t) ? t : p.Estimate;
        _ledger.Tell(new ChargeQuota(p.Job.User, p.ReservationId, actual));
        Finished(p, p.Estimate - actual);
        _qpuMicrosByUser[p.Job.User] = _qpuMicrosByUser.GetValueOrDefault(p.Job.User) + actual;
        _servedByQpu++;
        p.ReplyTo.Tell(new SampleReply(p.Job.JobId, d.Samples, _backend.SamplerName, null, actual));
        Run();
    }

    private void OnFailed(QpuFailed f)
    {
        _inFlight--;
        var p = f.P;
        var error = f.Error is AggregateException { InnerException: { } inner } ? inner : f.Error;
        // The answer never came back, so no QPU time is known to be used: the reservation is released.
        _ledger.Tell(new ReleaseQuota(p.Job.User, p.ReservationId));
        var kind = _backend.Classify(error);
        if (kind == QpuFailureKind.BadRequest)
        {
            _breaker.OnCallAbandoned();
            Finished(p, p.Estimate);
            if (p.Job.Fallback != Fallbacks.None) Fallback(p, $"{FallbackReasons.QpuError}: problem rejected ({error.Message})");
            else p.ReplyTo.Tell(new Status.Failure(error));
            Run();
            return;
        }
        if (_breaker.OnFailure()) Publish($"{_breaker.ConsecutiveFailures} consecutive failures, last: {error.Message}");
        _log.Warning("QPU call for job {0} failed ({1}): {2}", p.Job.JobId, error.GetType().Name, error.Message);
        if (p.Job.Fallback != Fallbacks.None)
        {
            Finished(p, p.Estimate);
            Fallback(p, $"{FallbackReasons.QpuError}: {error.GetType().Name}");
        }
        else
        {
            // Bounded exponential backoff before the QPU is tried again; the breaker may add its own wait.
            p.Attempt++;
            _consecutiveRetries++;
            double ms = Math.Min(_gs.RetryMaxBackoff.TotalMilliseconds,
                _gs.RetryMinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(30, _consecutiveRetries - 1)));
            _pausedUntil = _clock.GetUtcNow() + TimeSpan.FromMilliseconds(ms);
            Requeue(p);
            ScheduleWake();
        }
        Run();
    }

    /// <summary>A request left the gateway's books; <paramref name="vtRefund"/> µs of estimated QPU time are returned to the user's virtual time.</summary>
    private void Finished(Pending p, double vtRefund)
    {
        var q = QueueOf(p.Job.User);
        q.Active--;
        q.VirtualTime -= vtRefund / _qs.WeightOf(p.Job.User);
    }

    private void Fallback(Pending p, string reason)
    {
        _fellBack++;
        if (!_fallbacks.TryGetValue(p.Job.Fallback, out var pool))
        {
            p.ReplyTo.Tell(new Status.Failure(new InvalidOperationException($"no '{p.Job.Fallback}' sampler pool is running to fall back to ({reason})")));
            return;
        }
        pool.Tell(new ClassicalJob(p.Job, reason, p.ReplyTo));
    }

    private void Publish(string why)
    {
        _log.Info("QPU gateway {0}: breaker {1} ({2})", _backend.Solver, _breaker.State, why);
        Context.System.EventStream.Publish(new BreakerStateChanged(_backend.Solver, _breaker.State, why));
    }
}
