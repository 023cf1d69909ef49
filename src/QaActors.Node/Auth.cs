using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace QaActors.Node;

/// <summary>Who a bearer token belongs to.</summary>
public sealed record ApiUser(string Name, bool Admin);

/// <summary>Maps a presented bearer token to its user, or null. Implementations compare hashes in constant time.</summary>
public interface ITokenAuthenticator
{
    Task<ApiUser?> AuthenticateAsync(string token, CancellationToken ct);
}

/// <summary>
/// ASP.NET Core authentication for `Authorization: Bearer TOKEN`: the token's owner becomes the request's user (name
/// and admin role). No client-chosen user name exists on the API; everything is scoped to this identity.
/// </summary>
public sealed class BearerTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ITokenAuthenticator tokens) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";
    public const string AdminRole = "admin";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header)) return AuthenticateResult.NoResult();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)) return AuthenticateResult.Fail("the Authorization header must be 'Bearer TOKEN'");
        var user = await tokens.AuthenticateAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
        if (user is null) return AuthenticateResult.Fail("the token is not valid (revoked or mistyped)");
        var claims = new List<Claim> { new(ClaimTypes.Name, user.Name) };
        if (user.Admin) claims.Add(new Claim(ClaimTypes.Role, AdminRole));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }
}
