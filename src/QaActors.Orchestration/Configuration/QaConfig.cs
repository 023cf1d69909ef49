using System.Reflection;
using System.Text;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace QaActors.Orchestration.Configuration;

/// <summary>
/// Loads the HOCON under hocon/ (embedded in this assembly), an optional overlay file and the
/// command-line overrides, checks every qa.* key, and produces the Akka config plus typed settings.
/// Layering, highest first: overrides (--db, data dir) → overlay (--config FILE) → hocon/ defaults →
/// the provider file (sqlite.conf or postgres.conf, chosen by qa.persistence.provider) → the
/// sharding/singleton/pub-sub module defaults (without those, raw HOCON fails at runtime with
/// "Could not find any internal Akka.NET serializer", docs/operations.md "Configuration").
/// </summary>
public static class QaConfig
{
    private const string ResourcePrefix = "QaActors.hocon.";
    private static readonly string[] DefaultFiles = ["defaults.conf", "gateway.conf", "quotas.conf", "akka.conf"];

    /// <summary>Maps under qa.* whose keys are user-chosen (user names), not fixed settings.</summary>
    private static readonly string[] OpenMaps = ["qa.quotas.weights", "qa.quotas.users"];

    /// <summary>The text of one embedded hocon/ file.</summary>
    public static string ReadEmbedded(string fileName)
    {
        var asm = typeof(QaConfig).Assembly;
        using var s = asm.GetManifestResourceStream(ResourcePrefix + fileName)
            ?? throw new InvalidOperationException($"embedded configuration {fileName} is missing from {asm.GetName().Name}; rebuild the project");
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }

    public static Config Defaults()
    {
        Config c = Config.Empty;
        foreach (var f in DefaultFiles) c = c.WithFallback(Parse(ReadEmbedded(f), f));
        return c;
    }

    /// <summary>
    /// Builds the settings. <paramref name="overlayFile"/> is the --config file (may be null);
    /// <paramref name="dataDir"/> the data directory (used when qa.data-dir is empty);
    /// <paramref name="db"/> the --db connection string (null: from configuration). <paramref name="extraHocon"/>
    /// lets tests and the CLI add settings (highest priority after db).
    /// </summary>
    /// <param name="hostDefaults">HOCON of the host program that ranks below the overlay file but above hocon/ (the
    /// CLI's quieter log level: a --config file that sets akka.loglevel must win over it).</param>
    /// <summary>The roles a node may have (docs/architecture.md, "Roles and nodes").</summary>
    public static readonly string[] KnownRoles = ["api", "trainer", "sampler", "gateway"];

    private static IReadOnlyList<string> NodeRoles(Config c)
    {
        var roles = (c.GetStringList("qa.node.roles") ?? []).Select(r => r.Trim().ToLowerInvariant()).Distinct().ToList();
        if (roles.Count == 0) throw new QaConfigException("qa.node.roles", "a node needs at least one role: any of api, trainer, sampler, gateway");
        foreach (var r in roles)
            if (!KnownRoles.Contains(r)) throw new QaConfigException("qa.node.roles", $"'{r}' is not a role; use any of api, trainer, sampler, gateway");
        return roles;
    }

    public static QaSettings Load(string? overlayFile = null, string? dataDir = null, string? db = null, string? extraHocon = null, string? hostDefaults = null)
    {
        Config file = Config.Empty, overlay = Config.Empty;
        if (overlayFile is not null)
        {
            if (Directory.Exists(overlayFile))
                throw new QaConfigException("--config", $"'{overlayFile}' is a folder; give the path of a HOCON file");
            if (!File.Exists(overlayFile))
                throw new QaConfigException("--config", $"file '{overlayFile}' does not exist; give the path of a HOCON file");
            file = Parse(File.ReadAllText(overlayFile), "--config " + overlayFile);
        }
        var defaults = Defaults();
        CheckKeys(file, defaults, overlayFile ?? "--config");
        overlay = file;
        if (!string.IsNullOrWhiteSpace(extraHocon))
        {
            var extra = Parse(extraHocon, "overrides");
            CheckKeys(extra, defaults, "overrides");
            overlay = extra.WithFallback(overlay);
        }
        if (!string.IsNullOrWhiteSpace(hostDefaults)) overlay = overlay.WithFallback(Parse(hostDefaults, "host defaults"));
        var merged = overlay.WithFallback(defaults);
        HoconCheck.RequireAkkaValues(merged);

        string provider = GetString(merged, "qa.persistence.provider").Trim().ToLowerInvariant();
        string? conn = db ?? NullIfEmpty(GetString(merged, "qa.persistence.connection-string"));
        if (db is not null)
        {
            // --db alone selects the provider: a SQLite file path or "Data Source=..." is SQLite,
            // a key/value string with Host= or Server= is PostgreSQL.
            provider = LooksLikePostgres(db) ? "postgres" : "sqlite";
        }
        string dir = NullIfEmpty(GetString(merged, "qa.data-dir")) ?? dataDir
            ?? throw new QaConfigException("qa.data-dir", "no data directory: set qa.data-dir or pass the data directory");
        string providerFile;
        switch (provider)
        {
            case "sqlite":
                providerFile = "sqlite.conf";
                conn = conn is null ? $"Data Source={Path.Combine(Path.GetFullPath(dir), "qa.db")}"
                    : conn.Contains('=') ? conn : $"Data Source={Path.GetFullPath(conn)}";
                break;
            case "postgres":
            case "postgresql":
                providerFile = "postgres.conf";
                if (conn is null)
                    throw new QaConfigException("qa.persistence.connection-string",
                        "provider postgres needs a connection string, e.g. \"Host=localhost;Port=5432;Database=qa;Username=qa;Password=...\" (or pass --db)");
                break;
            default:
                throw new QaConfigException("qa.persistence.provider", $"'{provider}' is not a provider; use sqlite or postgres");
        }

        var node = new StringBuilder();
        foreach (var path in new[] { "akka.persistence.journal.sql", "akka.persistence.query.journal.sql", "akka.persistence.snapshot-store.sql" })
            node.Append(path).Append(".connection-string = ").Append(Quote(conn)).Append('\n');
        node.Append("akka.remote.dot-netty.tcp.hostname = ").Append(Quote(GetString(merged, "qa.node.hostname"))).Append('\n');
        node.Append("akka.remote.dot-netty.tcp.port = ").Append(GetInt(merged, "qa.node.port", 0, 65535)).Append('\n');
        var roles = NodeRoles(merged);
        node.Append("akka.cluster.roles = [").Append(string.Join(", ", roles.Select(Quote))).Append("]\n");
        var seeds = merged.GetStringList("qa.node.seed-nodes") ?? [];
        foreach (var seed in seeds)
            if (!Uri.TryCreate(seed, UriKind.Absolute, out var u) || u.Scheme != "akka.tcp" || u.Port <= 0 || u.UserInfo.Length == 0)
                throw new QaConfigException("qa.node.seed-nodes", $"'{seed}' is not an Akka address; use akka.tcp://qa@HOST:PORT");
        node.Append("akka.cluster.seed-nodes = [").Append(string.Join(", ", seeds.Select(Quote))).Append("]\n");
        node.Append("qa.data-dir = ").Append(Quote(Path.GetFullPath(dir))).Append('\n');
        node.Append("qa.persistence.resolved-provider = ").Append(Quote(providerFile == "sqlite.conf" ? "sqlite" : "postgres")).Append('\n');

        var full = Parse(node.ToString(), "substitutions")
            .WithFallback(merged)
            .WithFallback(Parse(ReadEmbedded(providerFile), providerFile))
            .WithFallback(ClusterSharding.DefaultConfig())
            .WithFallback(ClusterSingleton.DefaultConfig())
            .WithFallback(DistributedPubSub.DefaultConfig());
        return QaSettings.From(full);
    }

    internal static bool LooksLikePostgres(string conn)
    {
        var c = conn.ToLowerInvariant();
        return c.Contains("host=") || c.Contains("server=") || c.StartsWith("postgres://") || c.StartsWith("postgresql://");
    }

    /// <summary>Every qa.* key in the overlay must exist in the defaults (open maps excepted).</summary>
    private static void CheckKeys(Config overlay, Config defaults, string source)
    {
        if (overlay.IsEmpty || !overlay.HasPath("qa")) return;
        foreach (var key in HoconCheck.LeafKeys(overlay.GetValue("qa"), "qa"))
        {
            if (OpenMaps.Any(m => key.StartsWith(m + ".", StringComparison.Ordinal))) continue;
            if (!defaults.HasPath(key))
            {
                string parent = key[..key.LastIndexOf('.')];
                string known = defaults.HasPath(parent) && defaults.GetValue(parent).IsObject()
                    ? string.Join(", ", defaults.GetValue(parent).GetObject().Items.Keys.Select(k => parent + "." + k))
                    : "see hocon/defaults.conf";
                throw new QaConfigException(key, $"unknown key in {source}; known keys here: {known}");
            }
        }
    }

    private static Config Parse(string text, string source)
    {
        HoconCheck.RequireBalanced(text, source);
        try { return ConfigurationFactory.ParseString(text); }
        catch (Exception e) when (e is not QaConfigException)
        {
            throw new QaConfigException(source, $"is not valid HOCON ({e.Message})", e);
        }
    }

    public static string Quote(string s) =>
        "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n") + "\"";

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    // Typed getters: Akka's own throw messages do not name the key, these do.
    internal static string GetString(Config c, string key)
    {
        if (!c.HasPath(key)) throw new QaConfigException(key, "is missing");
        try { return c.GetString(key) ?? ""; }
        catch (Exception e) { throw new QaConfigException(key, "must be a string", e); }
    }

    /// <summary>The value as written, for messages (an object or list is described, not dumped).</summary>
    private static string Raw(Config c, string key)
    {
        var v = c.GetValue(key);
        if (v.IsObject()) return "an object";
        if (v.IsArray()) return "a list";
        return $"'{v.GetString()}'";
    }

    internal static int GetInt(Config c, string key, int min, int max)
    {
        if (!c.HasPath(key)) throw new QaConfigException(key, "is missing");
        int v;
        try { v = c.GetInt(key); }
        catch (Exception e) { throw new QaConfigException(key, $"must be an integer, not {Raw(c, key)}", e); }
        if (v < min || v > max) throw new QaConfigException(key, $"is {v}; it must be between {min} and {max}");
        return v;
    }

    internal static double GetDouble(Config c, string key, double min, double max)
    {
        if (!c.HasPath(key)) throw new QaConfigException(key, "is missing");
        double v;
        try { v = c.GetDouble(key); }
        catch (Exception e) { throw new QaConfigException(key, $"must be a number, not {Raw(c, key)}", e); }
        if (!(v >= min && v <= max)) throw new QaConfigException(key, $"is {v}; it must be between {min} and {max}");
        return v;
    }

    internal static TimeSpan GetDuration(Config c, string key, TimeSpan min, bool allowZero = false)
    {
        if (!c.HasPath(key)) throw new QaConfigException(key, "is missing");
        TimeSpan v;
        try { v = c.GetTimeSpan(key, null, allowInfinite: false); }
        catch (Exception e) { throw new QaConfigException(key, $"must be a duration such as 5s or 500ms, not {Raw(c, key)}", e); }
        if (v < min && !(allowZero && v == TimeSpan.Zero)) throw new QaConfigException(key, $"is {v}; it must be at least {min}");
        return v;
    }

    internal static Dictionary<string, double> GetNumberMap(Config c, string key, double min)
    {
        var map = new Dictionary<string, double>(StringComparer.Ordinal);
        if (!c.HasPath(key)) return map;
        var value = c.GetValue(key);
        if (!value.IsObject()) throw new QaConfigException(key, "must be an object of name = number");
        foreach (var (name, v) in value.GetObject().Items)
        {
            double d;
            try { d = v.GetDouble(); }
            catch (Exception e) { throw new QaConfigException(key + "." + name, $"must be a number, not '{v}'", e); }
            if (!(d >= min) || double.IsInfinity(d)) throw new QaConfigException(key + "." + name, $"is {d}; it must be a finite number ≥ {min}");
            map[name] = d;
        }
        return map;
    }
}
