using Akka.Actor;
using Akka.Pattern;

namespace QaActors.Orchestration.Persistence;

/// <summary>How the node's persistent singletons are kept alive.</summary>
public static class Supervision
{
    /// <summary>
    /// <paramref name="child"/> under a backoff supervisor: when it stops (Akka.Persistence stops an actor whose journal
    /// write failed, and one whose recovery failed) it is started again after 0.2 s, doubling up to 10 s while it keeps
    /// failing, and recovers from the journal. Messages sent while it is down are lost, as with any stopped actor; the
    /// callers' asks time out and retry or fall back. <see cref="StopSingleton"/> (the singleton's hand-over) stops
    /// both for good.
    /// </summary>
    public static Props RestartOnStop(Props child, string childName) =>
        BackoffSupervisor.Props(Backoff.OnStop(child, childName, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), 0.2, maxNrOfRetries: -1)
            .WithFinalStopMessage(m => m is StopSingleton));
}
