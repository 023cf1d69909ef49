using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>A `qa node` process on loopback, as an operator starts it; its API URL is read from its ready line.</summary>
public sealed class NodeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private readonly Uri? _api;
    /// <summary>The node's API URL (only a node with the api role has one).</summary>
    public Uri Api => _api ?? throw new InvalidOperationException("this node has no api role, hence no API URL");
    public string ReadyLine { get; }
    public string DataDir { get; }
    public int Pid => _process.Id;
    public string AdminToken => File.ReadAllText(Path.Combine(DataDir, "admin-token")).Trim();

    private NodeProcess(Process p, Uri? api, string line, string dataDir)
    {
        _process = p;
        _api = api;
        ReadyLine = line;
        DataDir = dataDir;
    }

    /// <summary>A data dir holding the cached datasets (copied from the user's cache, so the node reads its own).</summary>
    public static string NewDataDir(string root)
    {
        Directory.CreateDirectory(root);
        var cache = new QaActors.Data.DataStore(null).Root;
        foreach (var f in Directory.GetFiles(cache, "*.qads")) File.Copy(f, Path.Combine(root, Path.GetFileName(f)), overwrite: true);
        return root;
    }

    public static NodeProcess Start(string dataDir, params string[] args) => Start(dataDir, null, args);

    public static NodeProcess Start(string dataDir, IDictionary<string, string>? env, params string[] args)
    {
        var p = Process.Start(QaProcess.StartInfo(["node", "--data-dir", dataDir, "--api", "127.0.0.1:0", .. args], env))
            ?? throw new InvalidOperationException("could not start dotnet");
        var seen = new StringBuilder();
        var until = DateTime.UtcNow.AddSeconds(90);
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null && DateTime.UtcNow < until)
        {
            seen.AppendLine(line);
            var m = Regex.Match(line, @"^qa node ready: api (http://127\.0\.0\.1:\d+/|\(no api role\))");
            if (m.Success)
            {
                var node = new NodeProcess(p, m.Groups[1].Value.StartsWith("http", StringComparison.Ordinal) ? new Uri(m.Groups[1].Value) : null, line, dataDir);
                _ = Task.Run(async () =>
                {
                    string? l;
                    while ((l = await p.StandardError.ReadLineAsync().ConfigureAwait(false)) != null) lock (node._stderr) node._stderr.AppendLine(l);
                });
                _ = p.StandardOutput.ReadToEndAsync();
                return node;
            }
        }
        if (!p.HasExited) p.Kill(entireProcessTree: true);
        throw new InvalidOperationException($"qa node printed no ready line:\n{seen}\n{p.StandardError.ReadToEnd()}");
    }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public HttpClient Client(string? token)
    {
        var c = new HttpClient { BaseAddress = Api, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    /// <summary>SIGTERM, as systemd stops a service; returns how long the node took to leave and exit.</summary>
    public TimeSpan Terminate(TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        if (!_process.WaitForExit(limit)) throw new TimeoutException($"qa node did not exit within {limit} of SIGTERM:\n{Stderr}");
        return sw.Elapsed;
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>Waits for the node to exit by itself; false when it still runs after <paramref name="limit"/>.</summary>
    public bool WaitForExit(TimeSpan limit) => _process.WaitForExit(limit);

    private bool _disposed;

    /// <summary>SIGKILL (kill -9) when still running; then the process is gone. Safe to call more than once.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}
