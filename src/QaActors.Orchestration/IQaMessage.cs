namespace QaActors.Orchestration;

/// <summary>
/// Marker for every message that travels between the project's actors. Hyperion is bound to this
/// interface (hocon/akka.conf), never to System.Object, so only these types can ever be materialised
/// from the wire. Implementations are immutable records.
/// </summary>
public interface IQaMessage;

/// <summary>
/// Marker for messages that never leave their node: they carry live objects (a training state, a procedure with its
/// data) and are sent only between actors of one process (a trainer, its aggregator, the node's BQM workers, a
/// reader of the journal). No serializer is bound to them, and no type is both this and <see cref="IQaMessage"/>
/// (tests/QaActors.Orchestration.Tests/RemoteMessageTests.cs checks it).
/// </summary>
public interface ILocalMessage;

/// <summary>
/// Termination message of the cluster singletons (gateway, quota ledger, registry). Unlike PoisonPill it
/// is a command, so a persistent singleton handles it only after the writes it has in progress, and the
/// commands stashed behind them are not lost at hand-over (docs/architecture.md, "Messages").
/// </summary>
public sealed record StopSingleton : IQaMessage
{
    public static readonly StopSingleton Instance = new();
}
