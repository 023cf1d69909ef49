using Akka.Actor;

namespace QaActors.Orchestration.Users;

/// <summary>A problem with the admin-token file, in one sentence naming the file and the fix (never the token).</summary>
public sealed class AdminTokenFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The file <c>admin-token</c> in a node's data dir: the first admin's token, the one token ever written to a file
/// (docs/architecture.md, "Users and tokens"). It is created with mode 0600 in the same call that creates it (open
/// with O_CREAT|O_EXCL and the mode), so no other user can open it even for the moment between creating and a chmod;
/// an existing file, or a symbolic link in its place, is never overwritten or followed.
/// </summary>
public static class AdminTokenFile
{
    public const string FileName = "admin-token";

    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static string PathIn(string dataDir) => Path.Combine(dataDir, FileName);

    /// <summary>Writes <paramref name="token"/> to a new <see cref="FileName"/> in <paramref name="dataDir"/>; returns its path.</summary>
    public static string Write(string dataDir, ApiToken token)
    {
        string path = PathIn(dataDir);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = Mode;
        try
        {
            using var stream = new FileStream(path, options);
            using (var writer = new StreamWriter(stream, leaveOpen: true)) writer.Write(token.Reveal() + "\n");
            stream.Flush(flushToDisk: true);
        }
        catch (IOException) when (File.Exists(path) || IsLink(path))
        {
            throw new AdminTokenFileException($"{path} exists already; it is never overwritten (move it away to let the node write a new one)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AdminTokenFileException($"cannot create {path}: {e.Message} (the data dir must be writable by the node's user)", e);
        }
        return path;
    }

    /// <summary>
    /// The token in <paramref name="dataDir"/>'s admin-token file, or null when there is none. Refuses a file that
    /// other users may read or write (as ssh refuses such a key), since its token may have leaked, and one that does
    /// not hold a token.
    /// </summary>
    public static ApiToken? TryRead(string dataDir)
    {
        string path = PathIn(dataDir);
        if (!File.Exists(path)) return null;
        string text;
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                var mode = File.GetUnixFileMode(path);
                if ((mode & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)) != 0)
                    throw new AdminTokenFileException(
                        $"{path} may be read or written by other users (mode {Octal(mode)}); `chmod 600 {path}` if nobody else could have used it, else revoke the admin and make a new one");
            }
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AdminTokenFileException($"cannot read {path}: {e.Message}", e);
        }
        if (!ApiToken.TryParse(text, out var token, out var problem))
            throw new AdminTokenFileException($"{path} does not hold an admin token: {problem}; move it away to let the node write a new one");
        return token;
    }

    private static bool IsLink(string path) => new FileInfo(path).LinkTarget is not null;

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');

    /// <summary>
    /// What a node does at start so that its first admin can log in: when the registry has no user yet, it makes the
    /// first admin's token, writes it to the admin-token file and only then creates the admin with the token's hash, so
    /// a crash in between leaves a file whose token the next start reuses, never an admin whose token nobody has.
    /// With users in the registry it writes nothing. Returns the file's path when this call created the admin.
    /// </summary>
    public static async Task<string?> EnsureFirstAdminAsync(IActorRef registry, string dataDir, TimeSpan timeout)
    {
        var list = await registry.Ask<object>(ListUsers.Instance, timeout).ConfigureAwait(false);
        switch (list)
        {
            case UserRequestRejected rejected: throw new AdminTokenFileException($"cannot set up the first admin: {rejected.Message}");
            case UserList { Users.Length: > 0 }: return null;
            case UserList: break;
            default: throw new InvalidOperationException($"the user registry answered {list.GetType().Name} to {nameof(ListUsers)}");
        }

        var token = TryRead(dataDir);
        bool wrote = token is null;
        token ??= ApiToken.Generate();
        string path = wrote ? Write(dataDir, token) : PathIn(dataDir);
        var reply = await registry.Ask<object>(new EnsureAdmin(token.Hash), timeout).ConfigureAwait(false);
        switch (reply)
        {
            case AdminEnsured { Created: true }:
                return path;
            case AdminEnsured:
                // Another node created the first admin since the list: the token just written is nobody's.
                if (wrote) File.Delete(path);
                return null;
            case UserRequestRejected r:
                throw new AdminTokenFileException($"cannot set up the first admin: {r.Message}");
            default:
                throw new InvalidOperationException($"the user registry answered {reply.GetType().Name} to {nameof(EnsureAdmin)}");
        }
    }
}
