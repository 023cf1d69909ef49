namespace QaActors.Orchestration;

/// <summary>
/// Marker for every message that travels between the project's actors. Hyperion is bound to this
/// interface (hocon/akka.conf), never to System.Object, so only these types can ever be materialised
/// from the wire. Implementations are immutable records.
/// </summary>
public interface IQaMessage;
