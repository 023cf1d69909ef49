namespace QaActors.DWave.Simulator;

public enum OutageMode
{
    None,
    /// <summary>Every SAPI request is answered 503 (with Retry-After if configured).</summary>
    Http503,
    /// <summary>The listener is closed: connections are refused until the window ends.</summary>
    Refuse,
}

/// <summary>
/// Injected failures, switchable at runtime from tests, drills (the <c>_sim/faults</c> endpoint) or the HOCON
/// file. Thread-safe: every field is read and written under one lock, and counters are consumed atomically so that
/// "the next N requests" means exactly N.
/// </summary>
public sealed class SimulatorFaults
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private OutageMode _outageMode;
    private DateTimeOffset _outageStart, _outageEnd;
    private TimeSpan? _outageRetryAfter;
    private int _rateLimitRemaining;
    private TimeSpan _rateLimitRetryAfter = TimeSpan.FromSeconds(1);
    private string? _rateLimitMethod;
    private int _errors5xxRemaining;
    private string? _errors5xxMethod;
    private TimeSpan _answerDelay;
    private int _failRemaining;
    private string _failMessage = "Simulated failure: the QPU reported an error while processing this problem.";
    private readonly HashSet<string> _offline = new(StringComparer.Ordinal);
    private int _loseRemaining;
    private TimeSpan _loseFor;
    private bool _loseByDropping;

    public SimulatorFaults(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>Raised when a solver is switched offline, so that its queued problems can be failed.</summary>
    public event Action<string>? SolverWentOffline;

    /// <summary>An outage from now+<paramref name="startAfter"/> lasting <paramref name="duration"/>.</summary>
    public void SetOutage(OutageMode mode, TimeSpan duration, TimeSpan startAfter = default, TimeSpan? retryAfter = null)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            _outageMode = mode;
            _outageStart = now + startAfter;
            _outageEnd = now + startAfter + duration;
            _outageRetryAfter = retryAfter;
        }
    }

    public void ClearOutage() { lock (_gate) _outageMode = OutageMode.None; }

    /// <summary>The outage in force now, or <see cref="OutageMode.None"/>.</summary>
    public OutageMode ActiveOutage(out TimeSpan? retryAfter)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            retryAfter = _outageRetryAfter;
            return _outageMode != OutageMode.None && now >= _outageStart && now < _outageEnd ? _outageMode : OutageMode.None;
        }
    }

    /// <summary>The next <paramref name="requests"/> SAPI requests (optionally of one HTTP method) get 429 with Retry-After.</summary>
    public void RateLimitNext(int requests, TimeSpan retryAfter, string? method = null)
    {
        lock (_gate) { _rateLimitRemaining = requests; _rateLimitRetryAfter = retryAfter; _rateLimitMethod = method?.ToUpperInvariant(); }
    }

    /// <summary>The next <paramref name="requests"/> SAPI requests (optionally of one HTTP method) get 503 without Retry-After.</summary>
    public void Fail5xxNext(int requests, string? method = null)
    {
        lock (_gate) { _errors5xxRemaining = requests; _errors5xxMethod = method?.ToUpperInvariant(); }
    }

    internal bool TakeRateLimit(string method, out TimeSpan retryAfter)
    {
        lock (_gate)
        {
            retryAfter = _rateLimitRetryAfter;
            if (_rateLimitRemaining <= 0 || (_rateLimitMethod is not null && _rateLimitMethod != method)) return false;
            _rateLimitRemaining--;
            return true;
        }
    }

    internal bool Take5xx(string method)
    {
        lock (_gate)
        {
            if (_errors5xxRemaining <= 0 || (_errors5xxMethod is not null && _errors5xxMethod != method)) return false;
            _errors5xxRemaining--;
            return true;
        }
    }

    /// <summary>Extra time before each problem completes (a slow QPU queue).</summary>
    public TimeSpan AnswerDelay
    {
        get { lock (_gate) return _answerDelay; }
        set { lock (_gate) _answerDelay = value < TimeSpan.Zero ? TimeSpan.Zero : value; }
    }

    /// <summary>The next <paramref name="problems"/> problems end FAILED with <paramref name="message"/>.</summary>
    public void FailNextProblems(int problems, string? message = null)
    {
        lock (_gate) { _failRemaining = problems; if (message is not null) _failMessage = message; }
    }

    internal string? TakeProblemFailure()
    {
        lock (_gate)
        {
            if (_failRemaining <= 0) return null;
            _failRemaining--;
            return _failMessage;
        }
    }

    /// <summary>
    /// The next <paramref name="problems"/> problems run and are charged as usual, but for <paramref name="hideFor"/> after
    /// they complete every request about them (status, poll, answer) fails: the connection is dropped
    /// (<paramref name="dropConnection"/>) or answered 503. A client then loses an answer the QPU time was spent on, and
    /// finds it if it looks again later (the case quota accounting must charge, not release).
    /// </summary>
    public void LoseNextAnswers(int problems, TimeSpan hideFor, bool dropConnection = true)
    {
        lock (_gate) { _loseRemaining = problems; _loseFor = hideFor < TimeSpan.Zero ? TimeSpan.Zero : hideFor; _loseByDropping = dropConnection; }
    }

    /// <summary>For a problem that just completed: how long its answer is hidden and how, or null when it is not.</summary>
    internal (TimeSpan For, bool Drop)? TakeAnswerLoss()
    {
        lock (_gate)
        {
            if (_loseRemaining <= 0) return null;
            _loseRemaining--;
            return (_loseFor, _loseByDropping);
        }
    }

    public void SetSolverOffline(string solver, bool offline)
    {
        bool changed;
        lock (_gate) changed = offline ? _offline.Add(solver) : _offline.Remove(solver);
        if (offline && changed) SolverWentOffline?.Invoke(solver);
    }

    public bool IsOffline(string solver) { lock (_gate) return _offline.Contains(solver); }

    /// <summary>Back to normal operation.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _outageMode = OutageMode.None;
            _rateLimitRemaining = 0;
            _errors5xxRemaining = 0;
            _answerDelay = TimeSpan.Zero;
            _failRemaining = 0;
            _loseRemaining = 0;
            _offline.Clear();
        }
    }
}
