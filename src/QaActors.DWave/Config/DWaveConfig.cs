namespace QaActors.DWave.Config;

public sealed class DWaveConfigException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Values given on the command line (the highest precedence). Null or empty means "not given".</summary>
public sealed record DWaveConfigOverrides
{
    public string? Token { get; init; }
    public string? Endpoint { get; init; }
    public string? Region { get; init; }
    public string? Solver { get; init; }
    /// <summary>An explicit dwave.conf path; it must exist (as in Ocean, an explicit file that cannot be read is an error).</summary>
    public string? ConfigFile { get; init; }
    public string? Profile { get; init; }
    /// <summary>Skip configuration files entirely (Ocean's <c>config_file=False</c>).</summary>
    public bool IgnoreConfigFiles { get; init; }
}

/// <summary>
/// Where the process's environment and file system come from, so that tests can load configuration without
/// touching the real ones.
/// </summary>
public sealed record DWaveConfigSources(
    Func<string, string?> Environment,
    string WorkingDirectory,
    string HomeDirectory)
{
    public static DWaveConfigSources Process => new(
        System.Environment.GetEnvironmentVariable,
        Directory.GetCurrentDirectory(),
        System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile));
}

/// <summary>
/// The SAPI connection settings, resolved the way Ocean resolves them (dwave-cloud-client
/// <c>config/loaders.py: load_config</c>): keyword arguments (our flags) &gt; environment variables &gt;
/// the selected profile of the configuration file(s) &gt; built-in defaults. <c>endpoint</c> and
/// <c>region</c> are mutually exclusive across levels: setting either on a higher level clears both
/// on the lower ones (<c>MUTUALLY_EXCLUSIVE_OPTIONS</c>). The token is held as a <see cref="SecretToken"/>.
///
/// Every setting Ocean knows is either honoured or refused by name (see <see cref="Catalogue"/>): a proxy,
/// extra headers or a timeout is never dropped silently. Settings this client does not know are refused too.
/// </summary>
public sealed class DWaveConfig
{
    /// <summary>dwave-cloud-client <c>config/constants.py</c>: the default region.</summary>
    public const string DefaultRegion = "na-west-1";
    /// <summary>dwave-cloud-client <c>config/constants.py</c> DEFAULT_SOLVER_API_ENDPOINT: used when neither an endpoint
    /// nor a region other than the default is configured (Ocean then skips the Metadata API).</summary>
    public const string DefaultEndpoint = "https://cloud.dwavesys.com/sapi/";
    /// <summary>dwave-cloud-client <c>config/constants.py</c> DEFAULT_METADATA_API_ENDPOINT.</summary>
    public const string DefaultMetadataApiEndpoint = "https://cloud.dwavesys.com/metadata/v1/";

    public const string FileName = "dwave.conf";

    // dwave-cloud-client ENV_OPTION_MAP.
    private static readonly (string Env, string Key)[] EnvMap =
    [
        ("DWAVE_API_CLIENT", "client"),
        ("DWAVE_API_REGION", "region"),
        ("DWAVE_API_ENDPOINT", "endpoint"),
        ("DWAVE_API_TOKEN", "token"),
        ("DWAVE_API_SOLVER", "solver"),
        ("DWAVE_API_PROXY", "proxy"),
        ("DWAVE_API_HEADERS", "headers"),
        ("DWAVE_CACHE_ENABLED", "cache_enabled"),
        ("DWAVE_CACHE_HOME", "cache_home"),
        ("DWAVE_LEAP_API_ENDPOINT", "leap_api_endpoint"),
        ("DWAVE_LEAP_CLIENT_ID", "leap_client_id"),
        ("DWAVE_METADATA_API_ENDPOINT", "metadata_api_endpoint"),
    ];

    /// <summary>How each setting Ocean defines is treated here.</summary>
    public enum Treatment
    {
        /// <summary>Used by this client.</summary>
        Honoured,
        /// <summary>Concerns a part of Ocean this client does not have (Leap account API, Ocean's disk cache): accepted, no effect.</summary>
        NotApplicable,
        /// <summary>Accepted only at the value that describes what this client does; any other value is refused by name.</summary>
        FixedValue,
        /// <summary>Not supported: refused by name whenever set.</summary>
        Refused,
    }

    /// <summary>Ocean's settings (config/models.py _V1_CONFIG_DEFAULTS) and what this client does with each.</summary>
    public static readonly IReadOnlyDictionary<string, (Treatment How, string[] Allowed, string Why)> Catalogue =
        new Dictionary<string, (Treatment, string[], string)>(StringComparer.OrdinalIgnoreCase)
        {
            ["token"] = (Treatment.Honoured, [], ""),
            ["endpoint"] = (Treatment.Honoured, [], ""),
            ["region"] = (Treatment.Honoured, [], ""),
            ["solver"] = (Treatment.Honoured, [], ""),
            ["metadata_api_endpoint"] = (Treatment.Honoured, [], ""),
            ["proxy"] = (Treatment.Honoured, [], ""),
            ["headers"] = (Treatment.Honoured, [], ""),
            ["request_timeout"] = (Treatment.Honoured, [], ""),
            ["polling_timeout"] = (Treatment.Honoured, [], ""),
            ["connection_close"] = (Treatment.Honoured, [], ""),
            ["compress_qpu_problem_data"] = (Treatment.Honoured, [], ""),
            ["poll_wait_time"] = (Treatment.Honoured, [], ""),
            ["http_retry_total"] = (Treatment.Honoured, [], ""),
            ["http_retry_backoff_max"] = (Treatment.Honoured, [], ""),
            ["profile"] = (Treatment.NotApplicable, [], "selects the profile"),
            ["leap_api_endpoint"] = (Treatment.NotApplicable, [], "the Leap account API is not used"),
            ["leap_client_id"] = (Treatment.NotApplicable, [], "the Leap account API is not used"),
            ["cache_enabled"] = (Treatment.NotApplicable, [], "nothing is cached on disk"),
            ["cache_home"] = (Treatment.NotApplicable, [], "nothing is cached on disk"),
            ["client"] = (Treatment.FixedValue, ["base", "qpu"], "only QPU solvers are used"),
            ["permissive_ssl"] = (Treatment.FixedValue, ["false", "0", "no", "off"], "TLS certificates are always verified; fix the chain or set SSL_CERT_FILE"),
            ["poll_strategy"] = (Treatment.FixedValue, ["long-polling"], "this client always long-polls"),
            ["poll_pause"] = (Treatment.FixedValue, ["0", "0.0"], "long polls follow each other without a pause"),
            ["poll_backoff_min"] = (Treatment.FixedValue, ["0.05"], "the poll backoff is fixed at Ocean's defaults (0.05 s x1.3, at most 60 s)"),
            ["poll_backoff_base"] = (Treatment.FixedValue, ["1.3"], "the poll backoff is fixed at Ocean's defaults (0.05 s x1.3, at most 60 s)"),
            ["poll_backoff_max"] = (Treatment.FixedValue, ["60", "60.0"], "the poll backoff is fixed at Ocean's defaults (0.05 s x1.3, at most 60 s)"),
            ["client_cert"] = (Treatment.Refused, [], "client certificates are not supported"),
            ["client_cert_key"] = (Treatment.Refused, [], "client certificates are not supported"),
            ["http_retry_connect"] = (Treatment.Refused, [], "retries are set by http_retry_total only"),
            ["http_retry_read"] = (Treatment.Refused, [], "retries are set by http_retry_total only"),
            ["http_retry_redirect"] = (Treatment.Refused, [], "retries are set by http_retry_total only"),
            ["http_retry_status"] = (Treatment.Refused, [], "retries are set by http_retry_total only"),
            ["http_retry_backoff_factor"] = (Treatment.Refused, [], "the retry backoff starts at 0.1 s; set http_retry_backoff_max to cap it"),
        };

    private readonly Dictionary<string, string> _origins;

    public SecretToken? Token { get; }
    /// <summary>The explicit endpoint if one was configured; otherwise null (see <see cref="ResolvedEndpoint"/>).</summary>
    public string? Endpoint { get; }
    public string? Region { get; }
    /// <summary>The solver setting as given: a name or a JSON feature filter (see <see cref="SolverSelector"/>).</summary>
    public string? Solver { get; }
    /// <summary>The parsed solver setting; null when none was given (then any online QPU solver, the largest first).</summary>
    public SolverSelector? SolverSelector { get; }
    public string? Profile { get; }
    /// <summary>The files that were read, lowest precedence first.</summary>
    public IReadOnlyList<string> Files { get; }
    /// <summary>Every key of the resolved profile (token excluded), for options this type does not model.</summary>
    public IReadOnlyDictionary<string, string> Other { get; }

    public Uri MetadataApiEndpoint { get; }
    /// <summary>An HTTP(S) or SOCKS proxy for every request (<c>proxy</c>, <c>DWAVE_API_PROXY</c>).</summary>
    public Uri? Proxy { get; }
    /// <summary>Extra request headers (<c>headers</c>, <c>DWAVE_API_HEADERS</c>: "Name: value" lines).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
    /// <summary><c>request_timeout</c>: seconds, or (connect, read) seconds.</summary>
    public TimeSpan? ConnectTimeout { get; }
    public TimeSpan? ReadTimeout { get; }
    /// <summary><c>polling_timeout</c>: the longest a problem is waited for, seconds.</summary>
    public TimeSpan? PollingTimeout { get; }
    public bool? ConnectionClose { get; }
    public bool? CompressQpuProblemData { get; }
    public int? PollWaitTime { get; }
    public int? HttpRetryTotal { get; }
    public TimeSpan? HttpRetryBackoffMax { get; }

    private DWaveConfig(Dictionary<string, string> s, Dictionary<string, string> origins, SecretToken? token, string? profile, IReadOnlyList<string> files)
    {
        _origins = origins;
        Token = token; Profile = profile; Files = files;
        Endpoint = Get(s, "endpoint");
        Region = Get(s, "region");
        Solver = Get(s, "solver");
        Other = s.Where(kv => !kv.Key.Equals("token", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);

        foreach (var (k, v) in s)
        {
            if (Blank(v) is null) continue;
            if (!Catalogue.TryGetValue(k, out var c))
                throw new DWaveConfigException($"setting '{k}' ({OriginOf(k)}) is not known; known settings: {string.Join(", ", Catalogue.Keys.Order())}");
            if (c.How == Treatment.Refused)
                throw new DWaveConfigException($"setting '{k}' ({OriginOf(k)}) is not supported: {c.Why}; remove it");
            if (c.How == Treatment.FixedValue && !c.Allowed.Contains(v.Trim(), StringComparer.OrdinalIgnoreCase))
                throw new DWaveConfigException($"setting '{k} = {v.Trim()}' ({OriginOf(k)}) is not supported: {c.Why}; accepted: {string.Join(", ", c.Allowed)}, or remove it");
        }

        SolverSelector = Solver is null ? null : SolverSelector.Parse(Solver, OriginOf("solver"));
        MetadataApiEndpoint = Get(s, "metadata_api_endpoint") is { } m ? Url(m, "metadata_api_endpoint", slash: true) : new Uri(DefaultMetadataApiEndpoint);
        if (Get(s, "proxy") is { } proxy) Proxy = ProxyUri(proxy);
        Headers = Get(s, "headers") is { } h ? ParseHeaders(h) : [];
        if (Get(s, "request_timeout") is { } rt) (ConnectTimeout, ReadTimeout) = Timeouts(rt);
        if (Get(s, "polling_timeout") is { } pt && !pt.Equals("None", StringComparison.Ordinal)) PollingTimeout = Seconds(pt, "polling_timeout");
        if (Get(s, "connection_close") is { } cc) ConnectionClose = Bool(cc, "connection_close");
        if (Get(s, "compress_qpu_problem_data") is { } cq) CompressQpuProblemData = Bool(cq, "compress_qpu_problem_data");
        if (Get(s, "poll_wait_time") is { } pw) PollWaitTime = Int(pw, "poll_wait_time", 1, 30);
        if (Get(s, "http_retry_total") is { } hr) HttpRetryTotal = Int(hr, "http_retry_total", 0, 100);
        if (Get(s, "http_retry_backoff_max") is { } hb) HttpRetryBackoffMax = Seconds(hb, "http_retry_backoff_max");
        if (Endpoint is not null) _ = Url(Endpoint, "endpoint", slash: true);
    }

    /// <summary>Where a setting's value came from, for messages: a flag, an environment variable or dwave.conf.</summary>
    public string OriginOf(string key) => _origins.TryGetValue(key, out var o) ? o : "the built-in default";

    /// <summary>
    /// True when the endpoint must come from the Metadata API: no explicit endpoint, and a region other than the
    /// default or a metadata endpoint other than the default (otherwise Ocean short-circuits to <see cref="DefaultEndpoint"/>).
    /// </summary>
    public bool NeedsMetadataLookup => Endpoint is null
        && (Region is not null && !string.Equals(Region, DefaultRegion, StringComparison.OrdinalIgnoreCase)
            || MetadataApiEndpoint.AbsoluteUri != DefaultMetadataApiEndpoint);

    /// <summary>
    /// The SAPI base URL ending in '/', without network access: the endpoint if set, Ocean's default endpoint when
    /// no other region is asked for, else the region's URL from the built-in region list (an unknown region is an
    /// error naming the known ones). <see cref="ResolveEndpointAsync"/> asks the Metadata API first, as Ocean does.
    /// </summary>
    public Uri ResolvedEndpoint
    {
        get
        {
            if (Endpoint is not null) return Url(Endpoint, "endpoint", slash: true);
            if (!NeedsMetadataLookup) return new Uri(DefaultEndpoint);
            return SapiRegions.Find(SapiRegions.BuiltIn, Region ?? DefaultRegion, "the built-in region list", OriginOf("region"));
        }
    }

    /// <summary>
    /// Ocean's endpoint resolution (dwave-cloud-client regions.py: resolve_endpoints): an explicit endpoint wins; the
    /// default region with the default Metadata API is <see cref="DefaultEndpoint"/>; otherwise the region is looked up
    /// in the Metadata API's list (<see cref="MetadataApiEndpoint"/>). When the Metadata API cannot be reached, the
    /// built-in list is used (Ocean would fall back to the global endpoint, which serves the default region only).
    /// An unknown region is an error naming the regions that are known.
    /// </summary>
    public async Task<Uri> ResolveEndpointAsync(HttpMessageHandler? handler = null, Action<string>? log = null, CancellationToken ct = default)
    {
        if (!NeedsMetadataLookup) return ResolvedEndpoint;
        string region = Region ?? DefaultRegion;
        IReadOnlyList<SapiRegion> regions;
        try
        {
            regions = await SapiRegions.FetchAsync(MetadataApiEndpoint, handler, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException
                                  || e is TaskCanceledException && !ct.IsCancellationRequested)
        {
            log?.Invoke($"Metadata API at {MetadataApiEndpoint} unavailable ({e.Message}); resolving region '{region}' from the built-in region list");
            return SapiRegions.Find(SapiRegions.BuiltIn, region, "the built-in region list (the Metadata API could not be reached)", OriginOf("region"));
        }
        return SapiRegions.Find(regions, region, $"the Metadata API at {MetadataApiEndpoint}", OriginOf("region"));
    }

    public SecretToken RequireToken() => Token ?? throw new DWaveConfigException(
        "no SAPI token configured: set DWAVE_API_TOKEN, or add 'token = ...' to the profile in dwave.conf (there is no token flag: it would show in ps and shell history)");

    public override string ToString() =>
        $"DWaveConfig(endpoint={(NeedsMetadataLookup ? $"region {Region ?? DefaultRegion} via {MetadataApiEndpoint}" : ResolvedEndpoint.AbsoluteUri)}, solver={Solver ?? "(any QPU)"}, profile={Profile ?? "(none)"}, token={(Token is null ? "(none)" : Token.Masked)}{(Proxy is null ? "" : $", proxy={Proxy.Scheme}://{Proxy.Authority.Split('@')[^1]}")})";

    /// <summary>
    /// Candidate files, lowest precedence first, as homebase lays them out on Linux (dwave-cloud-client
    /// <c>get_configfile_paths</c>, homebase <c>site_config_dir_list</c>): each entry of <c>$XDG_CONFIG_DIRS</c>
    /// (default /etc/xdg) + /dwave/dwave.conf in the listed order, then <c>$XDG_CONFIG_HOME</c> (default ~/.config)
    /// + /dwave/dwave.conf, then ./dwave.conf. Later files override earlier ones key by key.
    /// </summary>
    public static IReadOnlyList<string> CandidatePaths(DWaveConfigSources src)
    {
        var list = new List<string>();
        string? dirs = src.Environment("XDG_CONFIG_DIRS");
        var site = string.IsNullOrEmpty(dirs) ? ["/etc/xdg"] : dirs.Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var d in site) list.Add(Path.Combine(ExpandHome(d.TrimEnd('/'), src, relativeToCwd: false), "dwave", FileName));
        string? home = src.Environment("XDG_CONFIG_HOME");
        list.Add(Path.Combine(string.IsNullOrEmpty(home) ? Path.Combine(src.HomeDirectory, ".config") : home, "dwave", FileName));
        list.Add(Path.Combine(src.WorkingDirectory, FileName));
        return list;
    }

    public static DWaveConfig Load(DWaveConfigOverrides? overrides = null, DWaveConfigSources? sources = null)
    {
        overrides ??= new DWaveConfigOverrides();
        sources ??= DWaveConfigSources.Process;
        string? profile = Blank(overrides.Profile) ?? Blank(sources.Environment("DWAVE_PROFILE"));

        var section = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var origins = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var files = new List<string>();
        if (!overrides.IgnoreConfigFiles)
        {
            string? explicitFile = Blank(overrides.ConfigFile) ?? Blank(sources.Environment("DWAVE_CONFIG_FILE"));
            if (explicitFile is not null)
            {
                string path = ExpandHome(explicitFile, sources, relativeToCwd: true);
                if (!File.Exists(path))
                    throw new DWaveConfigException($"configuration file '{path}' (from --config-file or DWAVE_CONFIG_FILE) does not exist");
                files.Add(path);
            }
            else
            {
                files.AddRange(CandidatePaths(sources).Where(File.Exists));
            }
            var ini = new IniFile();
            foreach (var f in files)
            {
                string text;
                try { text = File.ReadAllText(f); }
                catch (IOException e) { throw new DWaveConfigException($"cannot read configuration file '{f}': {e.Message}", e); }
                catch (UnauthorizedAccessException e) { throw new DWaveConfigException($"cannot read configuration file '{f}': {e.Message}", e); }
                ini.Merge(text, f);
            }
            // load_profile_from_files: explicit name > 'profile' key in [defaults] > first section > [defaults].
            string? chosen = profile ?? (ini.Defaults.TryGetValue("profile", out var p) ? Blank(p) : null) ?? ini.Sections.FirstOrDefault();
            if (chosen is not null)
            {
                if (!ini.HasSection(chosen))
                {
                    string where = files.Count == 0 ? "no configuration file was found" : $"files read: {string.Join(", ", files)}";
                    throw new DWaveConfigException($"profile '{chosen}' is not defined ({where}); check --profile / DWAVE_PROFILE or add a [{chosen}] section");
                }
                section = ini.Resolve(chosen);
            }
            else section = ini.Resolve(IniFile.DefaultsSection);
            profile = chosen;
            string fileOrigin = $"dwave.conf{(chosen is null ? "" : $" [{chosen}]")}";
            foreach (var k in section.Keys) origins[k] = fileOrigin;
        }
        else if (profile is not null)
        {
            throw new DWaveConfigException($"profile '{profile}' was requested but configuration files are disabled");
        }

        Update(section, origins, EnvMap.ToDictionary(m => m.Key, m => (Blank(sources.Environment(m.Env)), m.Env)));
        Update(section, origins, new Dictionary<string, (string?, string)>
        {
            ["token"] = (Blank(overrides.Token), "--token"),
            ["endpoint"] = (Blank(overrides.Endpoint), "--endpoint"),
            ["region"] = (Blank(overrides.Region), "--region"),
            ["solver"] = (Blank(overrides.Solver), "--solver"),
        });

        SecretToken? token = null;
        if (section.TryGetValue("token", out var tk) && Blank(tk) is { } t)
        {
            if (SecretToken.Problem(t) is { } why)
                throw new DWaveConfigException($"the SAPI token from {origins.GetValueOrDefault("token", "the configuration")} {why}; set it again without such characters");
            token = new SecretToken(t);
        }
        return new DWaveConfig(section, origins, token, profile, files);
    }

    // dwave-cloud-client update_config: None/blank values are skipped, and endpoint/region clear each other.
    private static void Update(Dictionary<string, string> section, Dictionary<string, string> origins, Dictionary<string, (string? Value, string Origin)> updates)
    {
        if (updates.TryGetValue("endpoint", out var e) && e.Value is not null || updates.TryGetValue("region", out var r) && r.Value is not null)
        {
            section.Remove("endpoint");
            section.Remove("region");
        }
        foreach (var (k, (v, o)) in updates)
            if (v is not null)
            {
                section[k] = v;
                origins[k] = o;
            }
    }

    // ------------------------------------------------------------ value parsing (errors name the setting and its origin)

    private DWaveConfigException Bad(string key, string problem) => new($"setting '{key}' ({OriginOf(key)}) {problem}");

    private Uri Url(string value, string key, bool slash)
    {
        string url = slash && !value.EndsWith('/') ? value + "/" : value;
        return Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == "https" || u.Scheme == "http")
            ? u : throw Bad(key, $"'{value}' is not an absolute http(s) URL");
    }

    private Uri ProxyUri(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https" or "socks4" or "socks4a" or "socks5") || u.Host.Length == 0)
            throw Bad("proxy", "is not a proxy URL such as http://proxy.example:3128 or socks5://127.0.0.1:1080");
        return u;
    }

    private IReadOnlyList<KeyValuePair<string, string>> ParseHeaders(string text)
    {
        // dwave-cloud-client: "Field-1: value-1\nField-2: value-2" (config/models.py, parse string headers).
        var list = new List<KeyValuePair<string, string>>();
        foreach (var raw in text.Replace("\r\n", "\n").Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0) continue;
            int colon = line.IndexOf(':');
            if (colon <= 0) throw Bad("headers", $"has a line without 'Name: value' (line {list.Count + 1})");
            string name = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
            if (!name.All(c => c < 128 && (char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c))))
                throw Bad("headers", $"names a header '{name}' that is not a valid HTTP field name");
            if (value.Any(c => c < 0x20 && c != '\t' || c == 0x7f || c > 0x7e))
                throw Bad("headers", $"gives header '{name}' a value with control or non-ASCII characters");
            if (name.ToLowerInvariant() is "x-auth-token" or "accept" or "content-type" or "content-encoding" or "content-length" or "host" or "authorization")
                throw Bad("headers", $"sets '{name}', which the client sets itself (the token goes in 'token')");
            list.Add(KeyValuePair.Create(name, value));
        }
        return list;
    }

    private (TimeSpan?, TimeSpan?) Timeouts(string text)
    {
        // A number of seconds, or "(connect, read)" as Ocean's literal_eval accepts.
        string t = text.Trim();
        if (t.StartsWith('(') && t.EndsWith(')') || t.StartsWith('[') && t.EndsWith(']'))
        {
            var parts = t[1..^1].Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length != 2) throw Bad("request_timeout", "must be seconds or (connect, read) seconds");
            return (Seconds(parts[0], "request_timeout"), Seconds(parts[1], "request_timeout"));
        }
        var s = Seconds(t, "request_timeout");
        return (s, s);
    }

    private TimeSpan Seconds(string text, string key) =>
        double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) && v > 0 && v <= 86400
            ? TimeSpan.FromSeconds(v) : throw Bad(key, $"must be a number of seconds in (0, 86400], not '{text}'");

    private int Int(string text, string key, int lo, int hi) =>
        int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v) && v >= lo && v <= hi
            ? v : throw Bad(key, $"must be an integer in {lo}..{hi}, not '{text}'");

    // configparser getboolean's words.
    private bool Bool(string text, string key) => text.Trim().ToLowerInvariant() switch
    {
        "1" or "yes" or "true" or "on" => true,
        "0" or "no" or "false" or "off" => false,
        _ => throw Bad(key, $"must be true or false, not '{text}'"),
    };

    private static string? Get(Dictionary<string, string> s, string key) => s.TryGetValue(key, out var v) ? Blank(v) : null;
    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static string ExpandHome(string path, DWaveConfigSources src, bool relativeToCwd) =>
        path == "~" ? src.HomeDirectory
        : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(src.HomeDirectory, path[2..])
        : !relativeToCwd || Path.IsPathRooted(path) ? path : Path.Combine(src.WorkingDirectory, path);
}
