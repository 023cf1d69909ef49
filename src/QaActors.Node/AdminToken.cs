using System.Security.Cryptography;
using System.Text;

namespace QaActors.Node;

/// <summary>
/// The admin token a node writes at its first start into <c>admin-token</c> in its data dir (mode 0600, created with
/// that mode), the only file that ever holds a token in plain text. The node keeps only its SHA-256 and compares
/// presented tokens' hashes in constant time.
/// </summary>
public sealed class AdminToken : ITokenAuthenticator
{
    public const string FileName = "admin-token";
    public const string AdminUser = "admin";
    private readonly byte[] _hash;

    public string Path { get; }
    /// <summary>True when this start created the file (the node then says where it is).</summary>
    public bool Created { get; }

    private AdminToken(string path, byte[] hash, bool created)
    {
        Path = path;
        _hash = hash;
        Created = created;
    }

    public static AdminToken EnsureFile(string dataDir)
    {
        string path = System.IO.Path.Combine(dataDir, FileName);
        bool created = false;
        if (!File.Exists(path))
        {
            string token = "qa_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var opts = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) opts.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var w = new StreamWriter(new FileStream(path, opts))) w.Write(token);
            created = true;
        }
        return new AdminToken(path, Hash(File.ReadAllText(path).Trim()), created);
    }

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public Task<ApiUser?> AuthenticateAsync(string token, CancellationToken ct) =>
        Task.FromResult(CryptographicOperations.FixedTimeEquals(Hash(token), _hash) ? new ApiUser(AdminUser, Admin: true) : null);
}
