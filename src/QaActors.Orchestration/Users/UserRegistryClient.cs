using Akka.Actor;

namespace QaActors.Orchestration.Users;

/// <summary>
/// The calls an API node makes to the user registry. They make and hash tokens on the calling node, so the registry
/// (which may run on another node) only ever receives hashes. Every ask has the caller's timeout; a registry that does
/// not answer in time surfaces as the ask's <see cref="AskTimeoutException"/>.
/// </summary>
public static class UserRegistryClient
{
    /// <summary>
    /// Adds a user with a fresh token. On success the result holds the token, the one time it exists outside its
    /// owner's hands: show it once and forget it.
    /// </summary>
    public static async Task<AddUserResult> AddUserAsync(IActorRef registry, string name, bool admin, double weight, TimeSpan timeout)
    {
        // Checked here too, so a bad name is refused before a token is even made.
        if (UserRules.NameProblem(name) is { } nameProblem) return new AddUserResult(null, null, new UserRequestRejected(UserRejection.InvalidName, nameProblem));
        if (UserRules.WeightProblem(weight) is { } weightProblem) return new AddUserResult(null, null, new UserRequestRejected(UserRejection.InvalidWeight, weightProblem));
        var token = ApiToken.Generate();
        return await registry.Ask<object>(new AddUser(name, admin, weight, token.Hash), timeout).ConfigureAwait(false) switch
        {
            UserAdded added => new AddUserResult(added.User, token, null),
            UserRequestRejected rejected => new AddUserResult(null, null, rejected),
            var other => throw Unexpected(other),
        };
    }

    /// <summary>
    /// Who presents <paramref name="bearer"/> (the text after "Bearer " in an Authorization header): an
    /// <see cref="AuthenticatedUser"/>, or an <see cref="AuthenticationFailed"/>. A malformed token is refused here
    /// without asking the registry.
    /// </summary>
    public static async Task<object> AuthenticateAsync(IActorRef registry, string? bearer, TimeSpan timeout)
    {
        if (!ApiToken.TryParse(bearer, out var token, out var problem))
            return new AuthenticationFailed(AuthenticationFailure.Malformed, problem);
        return await registry.Ask<object>(new Authenticate(token.Hash), timeout).ConfigureAwait(false) switch
        {
            AuthenticatedUser u => u,
            AuthenticationFailed f => f,
            var other => throw Unexpected(other),
        };
    }

    private static InvalidOperationException Unexpected(object reply) =>
        new($"the user registry answered {reply.GetType().Name}, which this version does not expect");
}

/// <summary>Either <see cref="User"/> and its <see cref="Token"/>, or <see cref="Rejected"/>.</summary>
public sealed record AddUserResult(UserInfo? User, ApiToken? Token, UserRequestRejected? Rejected);
