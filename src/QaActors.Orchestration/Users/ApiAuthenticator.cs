using System.Net;
using Akka.Actor;

namespace QaActors.Orchestration.Users;

public enum ApiAuthStatus
{
    Authenticated,
    /// <summary>Malformed, unknown or revoked: one answer for all three (HTTP 401).</summary>
    BadToken,
    /// <summary>Too many bad tokens from this client: refused unchecked until <see cref="ApiAuthResult.RetryAfter"/> (HTTP 429).</summary>
    RateLimited,
    /// <summary>The registry did not answer in time or its journal is damaged: the server's problem, not the client's (HTTP 503).</summary>
    Unavailable,
}

/// <param name="User">Set when <paramref name="Status"/> is Authenticated.</param>
/// <param name="RetryAfter">When RateLimited: how long until the client may try again.</param>
/// <param name="LogMessage">For the node's log; names tokens by id only. Not for the client, which gets the status alone.</param>
public sealed record ApiAuthResult(ApiAuthStatus Status, AuthenticatedUser? User, TimeSpan RetryAfter, string LogMessage);

/// <summary>
/// What an API node does with each request's bearer token: refuse a client that presented too many bad tokens
/// (<see cref="BadTokenLimiter"/>), otherwise ask the user registry with the token's hash and count a bad token
/// against the client. A registry that cannot answer counts against nobody. Thread-safe.
/// </summary>
public sealed class ApiAuthenticator(IActorRef registry, BadTokenLimiter limiter, TimeSpan askTimeout)
{
    public async Task<ApiAuthResult> AuthenticateAsync(string? bearer, IPAddress? client, CancellationToken ct = default)
    {
        string key = BadTokenLimiter.ClientKey(client);
        var allowed = limiter.Check(key);
        if (!allowed.Allowed)
            return new ApiAuthResult(ApiAuthStatus.RateLimited, null, allowed.RetryAfter, $"client {key} is refused for {allowed.RetryAfter.TotalSeconds:F0} s after repeated bad tokens");
        object reply;
        if (!ApiToken.TryParse(bearer, out var token, out var problem))
            reply = new AuthenticationFailed(AuthenticationFailure.Malformed, problem);
        else
        {
            try
            {
                reply = await registry.Ask<object>(new Authenticate(token.Hash), askTimeout, ct).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                return new ApiAuthResult(ApiAuthStatus.Unavailable, null, TimeSpan.Zero, $"the user registry did not answer within {askTimeout.TotalSeconds:F0} s");
            }
        }
        switch (reply)
        {
            case AuthenticatedUser user:
                return new ApiAuthResult(ApiAuthStatus.Authenticated, user, TimeSpan.Zero, $"{token} authenticates {user.Name}");
            case AuthenticationFailed { Reason: AuthenticationFailure.Unavailable } f:
                return new ApiAuthResult(ApiAuthStatus.Unavailable, null, TimeSpan.Zero, f.Message);
            case AuthenticationFailed f:
                var next = limiter.RecordFailure(key);
                return new ApiAuthResult(ApiAuthStatus.BadToken, null, next.RetryAfter,
                    $"bad token from {key}: {f.Message}" + (next.Allowed ? "" : $"; the client is refused for {next.RetryAfter.TotalSeconds:F0} s"));
            default:
                throw new InvalidOperationException($"the user registry answered {reply.GetType().Name} to {nameof(Authenticate)}");
        }
    }
}
