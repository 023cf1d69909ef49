namespace QaActors.DWave.Config;

/// <summary>
/// The subset of Python's <c>configparser</c> that <c>dwave.conf</c> uses (dwave-cloud-client
/// <c>config/loaders.py: load_config_from_files</c> builds a <c>ConfigParser(default_section="defaults")</c>):
/// <c>[section]</c> headers, <c>key = value</c> or <c>key: value</c>, keys case-insensitive, full-line
/// comments starting with '#' or ';', indented continuation lines, and a <c>[defaults]</c> section whose keys
/// every other section inherits. Later files override earlier ones key by key, as in Ocean.
/// </summary>
public sealed class IniFile
{
    public const string DefaultsSection = "defaults";

    // Section order matters: Ocean's fallback profile is the first non-defaults section.
    private readonly List<string> _order = new();
    private readonly Dictionary<string, Dictionary<string, string>> _sections = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Sections => _order;

    public IReadOnlyDictionary<string, string> Defaults =>
        _sections.TryGetValue(DefaultsSection, out var d) ? d : new Dictionary<string, string>();

    public bool HasSection(string name) => _sections.ContainsKey(name);

    /// <summary>The section's own keys over the defaults, as configparser presents a section.</summary>
    public Dictionary<string, string> Resolve(string section)
    {
        var result = new Dictionary<string, string>(Defaults, StringComparer.OrdinalIgnoreCase);
        if (_sections.TryGetValue(section, out var own))
            foreach (var (k, v) in own) result[k] = v;
        return result;
    }

    public void Merge(string text, string sourceName)
    {
        string? section = null;
        string? lastKey = null;
        var lines = text.Replace("\r\n", "\n").Split('\n');
        for (int ln = 0; ln < lines.Length; ln++)
        {
            string raw = lines[ln];
            string trimmed = raw.Trim();
            if (trimmed.Length == 0) { lastKey = null; continue; }
            if (trimmed[0] is '#' or ';') continue;
            if (char.IsWhiteSpace(raw[0]) && lastKey is not null && section is not null)
            {
                // configparser joins continuation lines with a newline.
                var sec = _sections[section];
                sec[lastKey] = sec[lastKey] + "\n" + trimmed;
                continue;
            }
            if (trimmed[0] == '[')
            {
                if (trimmed[^1] != ']')
                    throw new DWaveConfigException($"{sourceName}:{ln + 1}: section header '{trimmed}' is missing its closing ']'");
                section = trimmed[1..^1].Trim();
                if (section.Length == 0) throw new DWaveConfigException($"{sourceName}:{ln + 1}: empty section name");
                if (!_sections.ContainsKey(section))
                {
                    _sections[section] = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    if (section != DefaultsSection) _order.Add(section);
                }
                lastKey = null;
                continue;
            }
            int eq = trimmed.IndexOfAny(['=', ':']);
            if (eq <= 0)
                throw new DWaveConfigException($"{sourceName}:{ln + 1}: expected 'key = value', found '{Mask(trimmed)}'");
            if (section is null)
                throw new DWaveConfigException($"{sourceName}:{ln + 1}: key before any [section] header; start the file with [defaults] or a profile name");
            string key = trimmed[..eq].Trim().ToLowerInvariant();
            string value = trimmed[(eq + 1)..].Trim();
            _sections[section][key] = value;
            lastKey = key;
        }
    }

    // A malformed line could be a token pasted without "token =": never echo more than its start.
    private static string Mask(string line) => line.Length <= 8 ? line : line[..4] + "…";
}
