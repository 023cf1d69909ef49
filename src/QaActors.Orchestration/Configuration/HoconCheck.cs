using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace QaActors.Orchestration.Configuration;

/// <summary>
/// Checks HOCON the user wrote against what the program reads, for every configuration the CLI loads (the actor
/// system's qa.* and akka.* settings, the simulator's sapi-sim.*): a typo must fail by name instead of being ignored.
/// </summary>
public static class HoconCheck
{
    /// <summary>
    /// Akka's parser accepts text that ends inside an object or a list (an unclosed '{' reads as if closed at the end),
    /// which silently nests every later setting under the wrong path. Counts brackets outside strings and comments.
    /// </summary>
    public static void RequireBalanced(string text, string source)
    {
        var open = new Stack<(char Bracket, int Line)>();
        int line = 1;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\n') { line++; continue; }
            if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                continue;
            }
            if (c == '"')
            {
                bool triple = i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"';
                int start = line;
                if (triple)
                {
                    int end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    if (end < 0) throw new QaConfigException(source, $"is not valid HOCON: the \"\"\" string opened on line {start} is never closed");
                    line += text.AsSpan(i, end - i).Count('\n');
                    i = end + 2;
                    continue;
                }
                for (i++; i < text.Length && text[i] != '"'; i++)
                {
                    if (text[i] == '\\') i++;
                    else if (text[i] == '\n') throw new QaConfigException(source, $"is not valid HOCON: the string opened on line {start} is not closed on that line");
                }
                if (i >= text.Length) throw new QaConfigException(source, $"is not valid HOCON: the string opened on line {start} is never closed");
                continue;
            }
            if (c is '{' or '[') open.Push((c, line));
            else if (c is '}' or ']')
            {
                char want = c == '}' ? '{' : '[';
                if (open.Count == 0 || open.Peek().Bracket != want)
                    throw new QaConfigException(source, $"is not valid HOCON: '{c}' on line {line} closes nothing that is open");
                open.Pop();
            }
        }
        if (open.Count > 0)
        {
            var (bracket, at) = open.Peek();
            throw new QaConfigException(source, $"is not valid HOCON: '{bracket}' opened on line {at} is never closed");
        }
    }

    /// <summary>Every leaf path under <paramref name="prefix"/> (lists and scalars are leaves).</summary>
    public static IEnumerable<string> LeafKeys(HoconValue value, string prefix)
    {
        if (value.IsObject())
        {
            foreach (var (k, v) in value.GetObject().Items)
                foreach (var leaf in LeafKeys(v, prefix + "." + k)) yield return leaf;
        }
        else yield return prefix;
    }

    /// <summary>
    /// Every leaf under <paramref name="root"/> in <paramref name="overlay"/> must be a leaf of
    /// <paramref name="defaults"/>, or one of <paramref name="alsoKnown"/>. Under each of <paramref name="namedBlocks"/>
    /// the next path segment is a name the user chooses (a solver), and what follows it must be a key that some
    /// default block there has.
    /// </summary>
    public static void RequireKnownKeys(Config overlay, Config defaults, string root, string source,
        IReadOnlyCollection<string>? alsoKnown = null, IReadOnlyCollection<string>? namedBlocks = null)
    {
        if (overlay.IsEmpty || !overlay.HasPath(root)) return;
        var known = new HashSet<string>(LeafKeys(defaults.GetValue(root), root), StringComparer.Ordinal);
        if (alsoKnown is not null) known.UnionWith(alsoKnown);
        foreach (var key in LeafKeys(overlay.GetValue(root), root))
        {
            if (known.Contains(key)) continue;
            string? block = namedBlocks?.FirstOrDefault(b => key.StartsWith(b + ".", StringComparison.Ordinal));
            if (block is not null)
            {
                string rest = key[(block.Length + 1)..];
                int dot = rest.IndexOf('.');
                string tail = dot < 0 ? "" : rest[(dot + 1)..];
                var allowed = known.Where(k => k.StartsWith(block + ".", StringComparison.Ordinal))
                    .Select(k => k[(block.Length + 1)..]).Where(k => k.Contains('.')).Select(k => k[(k.IndexOf('.') + 1)..])
                    .ToHashSet(StringComparer.Ordinal);
                if (tail.Length > 0 && allowed.Contains(tail)) continue;
                throw new QaConfigException(key, $"unknown key in {source}; a block under {block} takes: {string.Join(", ", allowed.Order(StringComparer.Ordinal))}");
            }
            string parent = key.Contains('.') ? key[..key.LastIndexOf('.')] : key;
            var siblings = known.Where(k => k.StartsWith(parent + ".", StringComparison.Ordinal) && !k[(parent.Length + 1)..].Contains('.')).Order(StringComparer.Ordinal).ToList();
            throw new QaConfigException(key, $"unknown key in {source}; " + (siblings.Count > 0
                ? $"known keys here: {string.Join(", ", siblings)}"
                : $"see the documented keys of {root}"));
        }
    }

    /// <summary>Akka's log levels (Akka.Event.LogLevel, as the configuration spells them).</summary>
    private static readonly string[] LogLevels = ["OFF", "ERROR", "WARNING", "INFO", "DEBUG"];

    /// <summary>
    /// Values of akka.* settings that Akka itself accepts without complaint or reports only as a stack trace at
    /// start-up; checked here so the key is named.
    /// </summary>
    public static void RequireAkkaValues(Config merged)
    {
        foreach (var key in new[] { "akka.loglevel", "akka.stdout-loglevel" })
        {
            if (!merged.HasPath(key)) continue;
            string v = merged.GetString(key) ?? "";
            if (!LogLevels.Contains(v.Trim(), StringComparer.OrdinalIgnoreCase))
                throw new QaConfigException(key, $"'{v}' is not a log level; use one of {string.Join(", ", LogLevels)}");
        }
    }
}
