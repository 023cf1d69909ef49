using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QaActors.Orchestration.Users;

namespace QaActors.Node;

/// <summary>
/// ASP.NET Core authentication for `Authorization: Bearer TOKEN` (docs/architecture.md, "Users and tokens"): the token's
/// owner becomes the request's user (name, admin role, fair-share weight). No client-chosen user name exists on the API.
/// A client that presented too many bad tokens is refused unchecked (429 with Retry-After); a registry that cannot
/// answer is the server's problem (503), counted against nobody.
/// </summary>
public sealed class BearerTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiAuthenticator tokens) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";
    public const string AdminRole = "admin";
    public const string WeightClaim = "qa:weight";
    private const string ResultKey = "qa:auth";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header)) return AuthenticateResult.NoResult();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)) return AuthenticateResult.Fail("the Authorization header must be 'Bearer TOKEN'");
        var result = await tokens.AuthenticateAsync(header["Bearer ".Length..].Trim(), Context.Connection.RemoteIpAddress, Context.RequestAborted);
        Context.Items[ResultKey] = result;
        if (result.Status != ApiAuthStatus.Authenticated || result.User is not { } user)
        {
            Logger.LogWarning("refused a request to {Path}: {Why}", Request.Path.Value, result.LogMessage);
            return AuthenticateResult.Fail(result.Status.ToString());
        }
        var claims = new List<Claim> { new(ClaimTypes.Name, user.Name), new(WeightClaim, user.Weight.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        if (user.Admin) claims.Add(new Claim(ClaimTypes.Role, AdminRole));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = Context.Items.TryGetValue(ResultKey, out var r) ? r as ApiAuthResult : null;
        switch (result?.Status)
        {
            case ApiAuthStatus.RateLimited:
                Response.StatusCode = StatusCodes.Status429TooManyRequests;
                Response.Headers.RetryAfter = Math.Ceiling(result.RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Response.WriteAsJsonAsync(new ApiError("too many bad tokens from this address; wait before trying again"));
                break;
            case ApiAuthStatus.Unavailable:
                Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await Response.WriteAsJsonAsync(new ApiError("the user registry cannot answer now; retry"));
                break;
            default:
                Response.StatusCode = StatusCodes.Status401Unauthorized;
                Response.Headers.WWWAuthenticate = "Bearer";
                await Response.WriteAsJsonAsync(new ApiError(result is null
                    ? "this call needs a token: send 'Authorization: Bearer TOKEN'"
                    : "the token is not valid (revoked or mistyped)"));
                break;
        }
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await Response.WriteAsJsonAsync(new ApiError("this needs an admin token"));
    }
}
