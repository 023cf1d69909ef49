namespace QaActors.Orchestration.Gateway;

/// <summary>
/// Each user's fair-share weight as the gateway's <see cref="FairQueue{T}"/> reads it: the weight the user registry
/// holds for the user (`qa user add NAME --weight W`), else the configured one (qa.quotas.weights), else 1. The
/// gateway refreshes the registry's copy now and then and when a user it has not seen in the registry submits, so a
/// weight given to a new user applies from that user's first calls (docs/architecture.md, "The QPU gateway"). Pure and
/// single-threaded: the gateway actor owns one.
/// </summary>
public sealed class FairShareWeights
{
    private readonly Func<string, double> _configured;
    private Dictionary<string, double> _registry = new(StringComparer.Ordinal);

    /// <param name="configured">The configured weight of a user the registry does not know.</param>
    public FairShareWeights(Func<string, double> configured) => _configured = configured;

    /// <summary>True when the registry's copy has this user (its weight is the registry's, not the configured one).</summary>
    public bool Knows(string user) => _registry.ContainsKey(user);

    /// <summary>The users the registry's copy has, in no particular order.</summary>
    public IEnumerable<string> RegistryUsers => _registry.Keys;

    public double WeightOf(string user) => _registry.TryGetValue(user, out var w) ? w : _configured(user);

    /// <summary>
    /// Replaces the registry's copy by <paramref name="users"/> (revoked users keep their weight: their running
    /// experiments still queue). Weights that are not positive finite numbers are refused whole, so a bad copy never
    /// half-applies. Returns the users whose weight changed.
    /// </summary>
    public IReadOnlyList<string> Update(IEnumerable<(string User, double Weight)> users)
    {
        var next = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (user, weight) in users)
        {
            if (!(weight > 0) || double.IsInfinity(weight))
                throw new ArgumentOutOfRangeException(nameof(users), weight, $"the registry's weight of '{user}' must be a positive number");
            next[user] = weight;
        }
        var changed = next.Keys.Concat(_registry.Keys).Distinct(StringComparer.Ordinal)
            .Where(u => WeightOf(u) != (next.TryGetValue(u, out var w) ? w : _configured(u)))
            .Order(StringComparer.Ordinal).ToList();
        _registry = next;
        return changed;
    }
}
