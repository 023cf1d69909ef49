using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>
/// A cluster of real `qa node` processes on loopback sharing one PostgreSQL database of its own (the drills of
/// docs/operations.md). Every node names all the others as its seeds: a node that restarts joins the others, and the
/// first one, when none of the others answers, forms the cluster (a node without seeds would form an island of its
/// own). Node i keeps its data dir and cluster port across restarts. Disposing kills what still runs and drops the
/// database.
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    private readonly string _root;
    private readonly IDictionary<string, string>? _env;
    private readonly string[] _extra;
    private readonly string _seeds;
    private readonly NodeProcess?[] _nodes;

    public PostgresDatabase Database { get; }
    /// <summary>The cluster port of each node, fixed for its life (restarts included).</summary>
    public IReadOnlyList<int> Ports { get; }
    public int Count => _nodes.Length;

    private PostgresCluster(PostgresDatabase db, string root, int count, IDictionary<string, string>? env, string[] extra)
    {
        Database = db;
        _root = root;
        _env = env;
        _extra = extra;
        Ports = [.. Enumerable.Range(0, count).Select(_ => SapiSimProcess.FreePort())];
        _seeds = string.Join(',', Ports.Select(p => $"akka.tcp://qa@127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}"));
        _nodes = new NodeProcess?[count];
    }

    /// <summary>
    /// A cluster of <paramref name="count"/> nodes (none started yet) with data dirs under <paramref name="root"/>; null
    /// where no PostgreSQL is configured (see <see cref="PostgresDatabase.Create"/>).
    /// </summary>
    public static PostgresCluster? Create(string purpose, string root, int count, IDictionary<string, string>? env = null, params string[] extraArgs) =>
        PostgresDatabase.Create(purpose) is { } db ? new PostgresCluster(db, root, count, env, extraArgs) : null;

    /// <summary>Node i, or null while it is down.</summary>
    public NodeProcess? this[int i] => _nodes[i];

    /// <summary>Starts node i on its data dir (created with the datasets on its first start) and returns it once ready.</summary>
    public NodeProcess Start(int i)
    {
        if (_nodes[i] is not null) throw new InvalidOperationException($"node {i} runs already");
        string dir = Path.Combine(_root, "node" + i.ToString(CultureInfo.InvariantCulture));
        if (!Directory.Exists(dir)) NodeProcess.NewDataDir(dir);
        return _nodes[i] = NodeProcess.Start(dir, _env,
            ["--db", Database.ConnectionString, "--port", Ports[i].ToString(CultureInfo.InvariantCulture), "--seed-nodes", _seeds, .. _extra]);
    }

    /// <summary>Starts every node that is down, in index order.</summary>
    public void StartAll()
    {
        for (int i = 0; i < _nodes.Length; i++) if (_nodes[i] is null) Start(i);
    }

    /// <summary>kill -9 of node i: no hand-over, no flush.</summary>
    public void Kill(int i)
    {
        _nodes[i]?.Dispose();
        _nodes[i] = null;
    }

    /// <summary>SIGTERM to node i, as systemd stops it: it leaves the cluster (hand-over) and exits within <paramref name="limit"/>.</summary>
    public void Stop(int i, TimeSpan limit)
    {
        var n = _nodes[i] ?? throw new InvalidOperationException($"node {i} is down");
        try { n.Terminate(limit); }
        finally
        {
            n.Dispose();
            _nodes[i] = null;
        }
    }

    /// <summary>Which node an address such as "akka.tcp://qa@127.0.0.1:4053" names (-1: none of them).</summary>
    public int IndexOf(string? address)
    {
        var m = Regex.Match(address ?? "", @":(\d+)$");
        return m.Success ? Ports.ToList().IndexOf(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)) : -1;
    }

    /// <summary>
    /// Waits until <paramref name="members"/> members are Up as node <paramref name="via"/> sees them (all of them by
    /// default): then work placed on the cluster spreads over them, and a lost node leaves a majority.
    /// </summary>
    public async Task WaitUntilUp(int via, string token, int? members = null, TimeSpan? within = null)
    {
        int want = members ?? _nodes.Length;
        using var c = (_nodes[via] ?? throw new InvalidOperationException($"node {via} is down")).Client(token);
        var until = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(90));
        while (JsonNode.Parse(await c.GetStringAsync("api/v1/cluster"))!["members"]!.AsArray().Count(m => m!["status"]!.GetValue<string>() == "Up") < want)
        {
            Assert.True(DateTime.UtcNow < until, $"the cluster did not reach {want} members Up");
            await Task.Delay(200);
        }
    }

    public void Dispose()
    {
        foreach (var n in _nodes) n?.Dispose();
        Array.Clear(_nodes);
        Database.Dispose();
    }
}

/// <summary>
/// A database of its own on the CI's PostgreSQL (QA_TEST_POSTGRES names the server and a role that may create
/// databases), dropped afterwards, so a cluster test starts from an empty journal. Null where no server is configured
/// (a developer machine); CI must configure one.
/// </summary>
public sealed class PostgresDatabase : IDisposable
{
    private readonly string _admin;
    private readonly string _name;

    public string ConnectionString { get; }

    private PostgresDatabase(string admin, string name, string cs)
    {
        _admin = admin;
        _name = name;
        ConnectionString = cs;
    }

    public static PostgresDatabase? Create(string purpose)
    {
        string? cs = Environment.GetEnvironmentVariable("QA_TEST_POSTGRES");
        if (string.IsNullOrEmpty(cs))
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI must set QA_TEST_POSTGRES (see .ci/run)");
            return null;
        }
        string name = $"qa_{purpose}_{Guid.NewGuid():N}"[..24];
        using (var c = new Npgsql.NpgsqlConnection(cs))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"CREATE DATABASE {name}";
            cmd.ExecuteNonQuery();
        }
        var b = new Npgsql.NpgsqlConnectionStringBuilder(cs) { Database = name };
        return new PostgresDatabase(cs, name, b.ConnectionString);
    }

    public void Dispose()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        using var c = new Npgsql.NpgsqlConnection(_admin);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"DROP DATABASE IF EXISTS {_name} WITH (FORCE)";
        // After a busy test an autovacuum worker may still be connected to the database; it is not ours to terminate
        // (42501), but it ends by itself within seconds.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                cmd.ExecuteNonQuery();
                return;
            }
            catch (Npgsql.PostgresException e) when (e.SqlState == "42501" && attempt < 20)
            {
                Thread.Sleep(500);
            }
        }
    }
}
