using System.CommandLine;
using QaActors.Orchestration;

namespace QaActors.Cli.Client;

/// <summary>
/// --server / QA_SERVER and --token / QA_TOKEN: which node a command talks to. Without them, a node that owns the data
/// dir (docs/operations.md, "One writer per journal") is used, with the data dir's admin token unless QA_TOKEN names
/// another; with no node either, the command runs an embedded one-node system of its own.
/// </summary>
public sealed class ServerOptions
{
    public readonly Option<string?> Server = new("--server") { Description = "URL of a QaActors node's API, e.g. http://127.0.0.1:4180 (default: $QA_SERVER, else the node that owns the data dir, else an embedded node)." };
    public readonly Option<string?> Token = new("--token") { Description = "API token (default: $QA_TOKEN; for the node that owns the data dir, its admin-token file). Prefer QA_TOKEN: a flag shows in ps and shell history." };

    public void AddTo(Command c)
    {
        c.Add(Server);
        c.Add(Token);
    }

    /// <summary>The client for the node this command should use, or null to run embedded.</summary>
    public QaClient? Resolve(ParseResult pr, string dataDir)
    {
        string? url = pr.GetValue(Server) ?? NullIfEmpty(Environment.GetEnvironmentVariable("QA_SERVER"));
        string? token = pr.GetValue(Token) ?? NullIfEmpty(Environment.GetEnvironmentVariable("QA_TOKEN"));
        if (url is null)
        {
            var owner = DataDirLock.RunningOwner(dataDir);
            if (owner is null) return null;
            if (owner.ApiUrl is null)
                throw new UsageException($"another qa process (pid {owner.Pid}) is using the journal in {dataDir}; wait for it to finish, or run `qa node` there and point commands at it");
            url = owner.ApiUrl;
            if (token is null)
            {
                string file = Path.Combine(dataDir, "admin-token");
                token = File.Exists(file) ? File.ReadAllText(file).Trim()
                    : throw new UsageException($"the node at {url} owns {dataDir}, but its admin-token file is not readable here; set QA_TOKEN to your token");
            }
        }
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new UsageException($"--server '{url}' is not an http(s) URL; give the node's API address, e.g. http://127.0.0.1:4180");
        if (token is null) throw new UsageException($"the node at {uri} needs a token: set QA_TOKEN (or --token); an admin makes one with `qa user add NAME`");
        try { return new QaClient(uri, token); }
        catch (ServerRefusedException e) { throw new UsageException(e.Message); }
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
