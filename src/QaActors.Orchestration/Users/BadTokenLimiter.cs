using System.Net;
using System.Net.Sockets;

namespace QaActors.Orchestration.Users;

/// <summary>How many bad tokens a client may present before it is refused, and for how long.</summary>
/// <param name="MaxFailures">Failures within <paramref name="Window"/> that block the client.</param>
/// <param name="FirstBlock">The first block's length; each further block of the same client doubles it.</param>
/// <param name="MaxBlock">The longest block.</param>
/// <param name="ForgetAfter">A client with no failure for this long starts again from nothing (its blocks no longer grow).</param>
/// <param name="MaxClients">Clients tracked at most, so that many addresses cannot exhaust memory.</param>
public sealed record BadTokenPolicy(int MaxFailures, TimeSpan Window, TimeSpan FirstBlock, TimeSpan MaxBlock, TimeSpan ForgetAfter, int MaxClients)
{
    public static readonly BadTokenPolicy Default = new(5, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), TimeSpan.FromHours(1), TimeSpan.FromHours(6), 100_000);

    public void Validate()
    {
        if (MaxFailures < 1) throw new ArgumentOutOfRangeException(nameof(MaxFailures), MaxFailures, "must be at least 1");
        if (Window <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Window), Window, "must be positive");
        if (FirstBlock <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(FirstBlock), FirstBlock, "must be positive");
        if (MaxBlock < FirstBlock) throw new ArgumentOutOfRangeException(nameof(MaxBlock), MaxBlock, "must be at least the first block");
        if (ForgetAfter < MaxBlock) throw new ArgumentOutOfRangeException(nameof(ForgetAfter), ForgetAfter, "must be at least the longest block");
        if (MaxClients < 1) throw new ArgumentOutOfRangeException(nameof(MaxClients), MaxClients, "must be at least 1");
    }
}

/// <summary>Whether a client may present a token now; when not, how long until it may (an HTTP 429's Retry-After).</summary>
public readonly record struct BadTokenDecision(bool Allowed, TimeSpan RetryAfter)
{
    public static readonly BadTokenDecision Allow = new(true, TimeSpan.Zero);
}

/// <summary>
/// Rate limit on bad tokens per client: after <see cref="BadTokenPolicy.MaxFailures"/> failed authentications within
/// <see cref="BadTokenPolicy.Window"/>, the client is refused without its token being checked for
/// <see cref="BadTokenPolicy.FirstBlock"/>, doubling with each further block up to <see cref="BadTokenPolicy.MaxBlock"/>.
/// A 256-bit token cannot be guessed anyway; the limit keeps a misconfigured or hostile client from flooding the
/// registry and the log. Only failures count: a success neither resets a client's failures nor anyone else's (a
/// client holding one valid token could otherwise interleave it to guess without limit), and refused attempts do not
/// extend a block. Thread-safe (an HTTP server calls it concurrently); time comes from a <see cref="TimeProvider"/>.
/// </summary>
public sealed class BadTokenLimiter
{
    private sealed class Client
    {
        public readonly Queue<DateTimeOffset> Failures = new();
        public int Blocks;
        public DateTimeOffset BlockedUntil;
        public DateTimeOffset LastFailure;
    }

    private readonly BadTokenPolicy _policy;
    private readonly TimeProvider _clock;
    private readonly Dictionary<string, Client> _clients = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public BadTokenLimiter(BadTokenPolicy? policy = null, TimeProvider? clock = null)
    {
        _policy = policy ?? BadTokenPolicy.Default;
        _policy.Validate();
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>Clients tracked now (for tests and metrics).</summary>
    public int TrackedClients { get { lock (_lock) return _clients.Count; } }

    /// <summary>Whether <paramref name="client"/> may present a token now. Call before checking the token.</summary>
    public BadTokenDecision Check(string client)
    {
        var now = _clock.GetUtcNow();
        lock (_lock)
            return _clients.TryGetValue(client, out var c) && c.BlockedUntil > now ? new BadTokenDecision(false, c.BlockedUntil - now) : BadTokenDecision.Allow;
    }

    /// <summary>Records that <paramref name="client"/> presented a bad token; returns what it may do next.</summary>
    public BadTokenDecision RecordFailure(string client)
    {
        var now = _clock.GetUtcNow();
        lock (_lock)
        {
            if (!_clients.TryGetValue(client, out var c))
            {
                if (_clients.Count >= _policy.MaxClients) MakeRoom(now);
                _clients[client] = c = new Client();
            }
            if (c.BlockedUntil > now) return new BadTokenDecision(false, c.BlockedUntil - now); // refused, not checked: no count
            if (c.LastFailure != default && now - c.LastFailure >= _policy.ForgetAfter) c.Blocks = 0;
            c.LastFailure = now;
            while (c.Failures.Count > 0 && now - c.Failures.Peek() >= _policy.Window) c.Failures.Dequeue();
            c.Failures.Enqueue(now);
            if (c.Failures.Count < _policy.MaxFailures) return BadTokenDecision.Allow;
            c.Failures.Clear();
            var block = BlockLength(++c.Blocks);
            c.BlockedUntil = now + block;
            return new BadTokenDecision(false, block);
        }
    }

    private TimeSpan BlockLength(int blocks)
    {
        double ticks = _policy.FirstBlock.Ticks * Math.Pow(2, Math.Min(blocks - 1, 62));
        return ticks >= _policy.MaxBlock.Ticks ? _policy.MaxBlock : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>
    /// Drops clients that no longer matter (not blocked, last failure older than the window and the forget time);
    /// when every client still matters, the unblocked ones whose last failure is oldest. A blocked client is never
    /// dropped, so flooding from other addresses cannot lift a block.
    /// </summary>
    private void MakeRoom(DateTimeOffset now)
    {
        foreach (var (key, c) in _clients.ToList())
            if (c.BlockedUntil <= now && now - c.LastFailure >= _policy.ForgetAfter) _clients.Remove(key);
        if (_clients.Count < _policy.MaxClients) return;
        int excess = _clients.Count - _policy.MaxClients + 1 + _policy.MaxClients / 10; // free a tenth, so this is rare
        foreach (var (key, _) in _clients.Where(kv => kv.Value.BlockedUntil <= now).OrderBy(kv => kv.Value.LastFailure).Take(excess).ToList())
            _clients.Remove(key);
    }

    /// <summary>
    /// The key to limit <paramref name="address"/> by: an IPv4 address (also when mapped into IPv6) as it is, an IPv6
    /// address by its /64 network, the smallest block one site is usually given, so that one host cannot take a fresh
    /// key for every attempt.
    /// </summary>
    public static string ClientKey(IPAddress? address)
    {
        if (address is null) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes).ToString() + "/64";
    }
}
