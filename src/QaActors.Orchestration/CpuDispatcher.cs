using Akka.Configuration;
using QaActors.Orchestration.Configuration;

namespace QaActors.Orchestration;

/// <summary>
/// The dispatcher of the CPU-heavy actors (sampler pools, BQM workers): dedicated threads, so the default dispatcher
/// (heartbeats, gateway, trainers) is never starved by sampling. It is configured in hocon/akka.conf only; code names
/// its id.
/// </summary>
public static class CpuDispatcher
{
    public const string Id = "qa-cpu-dispatcher";

    /// <summary>
    /// The dispatcher's block from the embedded akka.conf, for actor systems built from other configuration (tests,
    /// hosts that assemble their own): the same definition, never a second copy.
    /// </summary>
    public static Config Definition()
    {
        // Akka's Config cannot re-root a sub-tree, so the block is cut from the file's text (a top-level block of our
        // own, without strings or comments inside) and parsed alone.
        string text = QaConfig.ReadEmbedded("akka.conf");
        int start = text.IndexOf("\n" + Id + " {", StringComparison.Ordinal);
        if (start < 0) throw new InvalidOperationException($"akka.conf has no top-level '{Id} {{' block");
        int depth = 0, end = start;
        for (int i = text.IndexOf('{', start); i < text.Length; i++)
        {
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0) { end = i + 1; break; }
        }
        if (depth != 0) throw new InvalidOperationException($"akka.conf: the '{Id}' block is not closed");
        return ConfigurationFactory.ParseString(text[start..end]);
    }
}
