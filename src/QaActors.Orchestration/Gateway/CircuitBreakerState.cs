namespace QaActors.Orchestration.Gateway;

/// <summary>
/// The gateway's breaker, a plain state machine owned by the actor (Akka's CircuitBreaker runs its
/// listeners on the thread pool; keeping the state inside the actor keeps every transition on the
/// actor's thread). Closed → Open after <c>maxFailures</c> consecutive failures; Open → HalfOpen when
/// the reset timeout has passed; HalfOpen lets one probe through: success closes, failure reopens with
/// the timeout doubled up to <c>maxResetTimeout</c>.
/// </summary>
public sealed class CircuitBreakerState(int maxFailures, TimeSpan resetTimeout, TimeSpan maxResetTimeout, TimeProvider clock)
{
    private readonly TimeSpan _baseReset = resetTimeout;
    private TimeSpan _currentReset = resetTimeout;
    private DateTimeOffset _openUntil;

    public BreakerState State { get; private set; } = BreakerState.Closed;
    public int ConsecutiveFailures { get; private set; }
    public bool ProbeInFlight { get; private set; }
    public DateTimeOffset OpenUntil => _openUntil;

    /// <summary>Moves Open → HalfOpen when due. Returns true if the state changed.</summary>
    public bool Tick()
    {
        if (State == BreakerState.Open && clock.GetUtcNow() >= _openUntil)
        {
            State = BreakerState.HalfOpen;
            ProbeInFlight = false;
            return true;
        }
        return false;
    }

    /// <summary>May a request go to the QPU now? In HalfOpen only one probe at a time.</summary>
    public bool AllowsCall => State == BreakerState.Closed || (State == BreakerState.HalfOpen && !ProbeInFlight);

    /// <summary>Records that a call was started (the probe, when half-open).</summary>
    public void OnCallStarted()
    {
        if (State == BreakerState.HalfOpen) ProbeInFlight = true;
    }

    /// <summary>Returns true if the state changed.</summary>
    public bool OnSuccess()
    {
        ConsecutiveFailures = 0;
        if (State == BreakerState.Closed) return false;
        State = BreakerState.Closed;
        ProbeInFlight = false;
        _currentReset = _baseReset;
        return true;
    }

    /// <summary>Returns true if the state changed.</summary>
    public bool OnFailure()
    {
        ConsecutiveFailures++;
        if (State == BreakerState.HalfOpen)
        {
            _currentReset = TimeSpan.FromTicks(Math.Min(maxResetTimeout.Ticks, _currentReset.Ticks * 2));
            Open();
            return true;
        }
        if (State == BreakerState.Closed && ConsecutiveFailures >= maxFailures)
        {
            Open();
            return true;
        }
        return false;
    }

    /// <summary>A started probe that ended without a verdict (e.g. its reservation failed).</summary>
    public void OnCallAbandoned()
    {
        if (State == BreakerState.HalfOpen) ProbeInFlight = false;
    }

    private void Open()
    {
        State = BreakerState.Open;
        ProbeInFlight = false;
        _openUntil = clock.GetUtcNow() + _currentReset;
    }
}
