using System.Text.Json;

namespace QaActors.Orchestration;

/// <summary>What a running node writes beside its lock: how other `qa` commands reach it.</summary>
public sealed record NodeInfo(int Pid, string? ApiUrl, string? ClusterAddress, DateTimeOffset StartedAt);

/// <summary>
/// One process owns a data dir's journal at a time (docs/operations.md, "One writer per journal"): it holds
/// <c>node.lock</c> open exclusively for its lifetime (the operating system releases it when the process ends, even by
/// kill -9), and describes itself in <c>node.json</c>. Another process finds the lock taken and reads node.json to reach
/// the owner instead of opening the journal a second time, which would put two writers on the same persistence ids.
/// </summary>
public sealed class DataDirLock : IDisposable
{
    public const string LockFile = "node.lock", InfoFile = "node.json";
    private readonly FileStream _lock;
    private readonly string _dir;

    private DataDirLock(FileStream stream, string dir)
    {
        _lock = stream;
        _dir = dir;
    }

    /// <summary>Takes the lock, or returns null and the owner's description (null when it has written none yet).</summary>
    public static DataDirLock? TryAcquire(string dataDir, out NodeInfo? owner)
    {
        Directory.CreateDirectory(dataDir);
        owner = null;
        try
        {
            var fs = new FileStream(Path.Combine(dataDir, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new DataDirLock(fs, dataDir);
        }
        catch (IOException)
        {
            owner = ReadInfo(dataDir);
            return null;
        }
    }

    /// <summary>The running owner of a data dir, or null when none holds its lock.</summary>
    public static NodeInfo? RunningOwner(string dataDir)
    {
        if (!File.Exists(Path.Combine(dataDir, LockFile))) return null;
        using var probe = TryAcquire(dataDir, out var owner);
        return probe is null ? owner ?? new NodeInfo(0, null, null, DateTimeOffset.MinValue) : null;
    }

    public void Describe(NodeInfo info)
    {
        string path = Path.Combine(_dir, InfoFile), tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(info));
        File.Move(tmp, path, overwrite: true);
    }

    private static NodeInfo? ReadInfo(string dir)
    {
        try { return JsonSerializer.Deserialize<NodeInfo>(File.ReadAllText(Path.Combine(dir, InfoFile))); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }

    public void Dispose()
    {
        try { File.Delete(Path.Combine(_dir, InfoFile)); }
        catch (IOException) { /* best effort: a stale node.json without a held lock names no running node */ }
        _lock.Dispose();
    }
}
