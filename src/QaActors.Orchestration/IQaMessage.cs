namespace QaActors.Orchestration;

/// <summary>
/// Marker for every message that travels between the project's actors. Hyperion is bound to this
/// interface (hocon/akka.conf), never to System.Object, so only these types can ever be materialised
/// from the wire. Implementations are immutable records.
/// </summary>
public interface IQaMessage;

/// <summary>
/// Termination message of the cluster singletons (gateway, quota ledger, registry). Unlike PoisonPill it
/// is a command, so a persistent singleton handles it only after the writes it has in progress, and the
/// commands stashed behind them are not lost at hand-over (docs/architecture.md, "Messages").
/// </summary>
public sealed record StopSingleton : IQaMessage
{
    public static readonly StopSingleton Instance = new();
}
