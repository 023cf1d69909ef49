namespace QaActors.Orchestration.Configuration;

/// <summary>
/// Bad configuration: the message names the key (or the command-line flag, such as --db, that set it), what was wrong
/// and what is accepted.
/// </summary>
public sealed class QaConfigException(string key, string message, Exception? inner = null)
    : Exception(key.StartsWith("--", StringComparison.Ordinal) ? $"{key}: {message}" : $"configuration key '{key}': {message}", inner)
{
    public string Key { get; } = key;
}
