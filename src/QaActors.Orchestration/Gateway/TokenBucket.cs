namespace QaActors.Orchestration.Gateway;

/// <summary>
/// Token bucket: <c>rate</c> tokens per second accrue up to <c>burst</c>; each submission takes one.
/// So over any interval of length t at most burst + rate·t submissions pass. Time comes from a
/// <see cref="TimeProvider"/>, so tests can drive it with a manual clock. Not thread-safe: owned by
/// one actor.
/// </summary>
public sealed class TokenBucket
{
    private readonly double _rate;
    private readonly double _burst;
    private readonly TimeProvider _clock;
    private double _tokens;
    private long _last;

    public TokenBucket(double ratePerSecond, int burst, TimeProvider clock)
    {
        if (!(ratePerSecond > 0)) throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "must be positive");
        if (burst < 1) throw new ArgumentOutOfRangeException(nameof(burst), burst, "must be at least 1");
        _rate = ratePerSecond;
        _burst = burst;
        _clock = clock;
        _tokens = burst;
        _last = clock.GetTimestamp();
    }

    public double Tokens { get { Refill(); return _tokens; } }

    public bool TryTake()
    {
        Refill();
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }

    /// <summary>How long until one token is available (zero if one is).</summary>
    public TimeSpan TimeUntilNext()
    {
        Refill();
        return _tokens >= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds((1 - _tokens) / _rate);
    }

    private void Refill()
    {
        long now = _clock.GetTimestamp();
        if (now <= _last) return;
        double dt = (now - _last) / (double)_clock.TimestampFrequency;
        _last = now;
        _tokens = Math.Min(_burst, _tokens + dt * _rate);
    }
}
