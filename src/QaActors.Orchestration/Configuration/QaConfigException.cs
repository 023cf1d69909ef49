namespace QaActors.Orchestration.Configuration;

/// <summary>Bad configuration: the message names the key, what was wrong and what is accepted.</summary>
public sealed class QaConfigException(string key, string message, Exception? inner = null)
    : Exception($"configuration key '{key}': {message}", inner)
{
    public string Key { get; } = key;
}
