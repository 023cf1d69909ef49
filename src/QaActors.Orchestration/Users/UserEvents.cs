using System.Collections.Immutable;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Users;

// The user registry's persisted records (bound to PersistedSerializer through IPersisted). They hold a token's hash,
// never the token: the registry never sees one (docs/architecture.md, "Users and tokens").

/// <summary>A user was added, or a revoked name was given a new token (which replaces the old record).</summary>
public sealed record UserCreated(string Name, bool Admin, double Weight, TokenHash TokenHash, DateTimeOffset At) : IPersisted;

/// <summary>A user's token stops authenticating; the name and its experiments stay.</summary>
public sealed record UserRevoked(string Name, DateTimeOffset At) : IPersisted;

public sealed record UserState(string Name, bool Admin, double Weight, TokenHash TokenHash, DateTimeOffset Created, DateTimeOffset? Revoked);

/// <summary>Every user, in name order.</summary>
public sealed record UserRegistrySnapshot(ImmutableArray<UserState> Users) : IPersisted;
