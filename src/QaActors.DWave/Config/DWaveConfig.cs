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
/// </summary>
public sealed class DWaveConfig
{
    /// <summary>dwave-cloud-client <c>config/constants.py</c>: the default region, and its SAPI v2 URL (regions.py).</summary>
    public const string DefaultRegion = "na-west-1";

    public const string FileName = "dwave.conf";

    // dwave-cloud-client ENV_OPTION_MAP, restricted to the options this client uses.
    private static readonly (string Env, string Key)[] EnvMap =
    [
        ("DWAVE_API_TOKEN", "token"),
        ("DWAVE_API_ENDPOINT", "endpoint"),
        ("DWAVE_API_REGION", "region"),
        ("DWAVE_API_SOLVER", "solver"),
    ];

    public SecretToken? Token { get; }
    /// <summary>The explicit endpoint if one was configured; otherwise null (see <see cref="ResolvedEndpoint"/>).</summary>
    public string? Endpoint { get; }
    public string? Region { get; }
    /// <summary>A solver name; Ocean also allows a JSON feature filter here, which this client reads as a name only.</summary>
    public string? Solver { get; }
    public string? Profile { get; }
    /// <summary>The files that were read, lowest precedence first.</summary>
    public IReadOnlyList<string> Files { get; }
    /// <summary>Every key of the resolved profile (token excluded), for options this type does not model.</summary>
    public IReadOnlyDictionary<string, string> Other { get; }

    private DWaveConfig(SecretToken? token, string? endpoint, string? region, string? solver, string? profile,
        IReadOnlyList<string> files, IReadOnlyDictionary<string, string> other)
    {
        Token = token; Endpoint = endpoint; Region = region; Solver = solver; Profile = profile; Files = files; Other = other;
    }

    /// <summary>The SAPI base URL ending in '/': the endpoint if set, else the region's URL (regions.py pattern).</summary>
    public Uri ResolvedEndpoint
    {
        get
        {
            string url = Endpoint ?? $"https://{Region ?? DefaultRegion}.cloud.dwavesys.com/sapi/v2/";
            if (!url.EndsWith('/')) url += "/";
            return Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == "https" || u.Scheme == "http")
                ? u
                : throw new DWaveConfigException($"endpoint '{url}' is not an absolute http(s) URL; fix DWAVE_API_ENDPOINT, --endpoint or 'endpoint' in dwave.conf");
        }
    }

    public SecretToken RequireToken() => Token ?? throw new DWaveConfigException(
        "no SAPI token configured: set DWAVE_API_TOKEN, pass --token, or add 'token = ...' to dwave.conf");

    public override string ToString() =>
        $"DWaveConfig(endpoint={ResolvedEndpoint}, solver={Solver ?? "(any)"}, profile={Profile ?? "(none)"}, token={(Token is null ? "(none)" : Token.Masked)})";

    /// <summary>
    /// Candidate files, lowest precedence first, as homebase lays them out on Linux (dwave-cloud-client
    /// <c>get_configfile_paths</c>): each of <c>$XDG_CONFIG_DIRS</c> (default /etc/xdg) + /dwave/dwave.conf,
    /// then <c>$XDG_CONFIG_HOME</c> (default ~/.config) + /dwave/dwave.conf, then ./dwave.conf.
    /// </summary>
    public static IReadOnlyList<string> CandidatePaths(DWaveConfigSources src)
    {
        var list = new List<string>();
        string? dirs = src.Environment("XDG_CONFIG_DIRS");
        var site = string.IsNullOrEmpty(dirs) ? ["/etc/xdg"] : dirs.Split(':', StringSplitOptions.RemoveEmptyEntries);
        // XDG lists the most important directory first; lowest precedence goes first here, so reverse.
        foreach (var d in site.Reverse()) list.Add(Path.Combine(d, "dwave", FileName));
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
        var files = new List<string>();
        if (!overrides.IgnoreConfigFiles)
        {
            string? explicitFile = Blank(overrides.ConfigFile) ?? Blank(sources.Environment("DWAVE_CONFIG_FILE"));
            if (explicitFile is not null)
            {
                string path = ExpandHome(explicitFile, sources);
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
        }
        else if (profile is not null)
        {
            throw new DWaveConfigException($"profile '{profile}' was requested but configuration files are disabled");
        }

        var env = EnvMap.ToDictionary(m => m.Key, m => Blank(sources.Environment(m.Env)));
        Update(section, env);
        Update(section, new Dictionary<string, string?>
        {
            ["token"] = Blank(overrides.Token),
            ["endpoint"] = Blank(overrides.Endpoint),
            ["region"] = Blank(overrides.Region),
            ["solver"] = Blank(overrides.Solver),
        });

        var token = section.TryGetValue("token", out var tk) && Blank(tk) is { } t ? new SecretToken(t) : null;
        var other = section.Where(kv => !kv.Key.Equals("token", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);
        return new DWaveConfig(token, Get(section, "endpoint"), Get(section, "region"), Get(section, "solver"), profile, files, other);
    }

    // dwave-cloud-client update_config: None/blank values are skipped, and endpoint/region clear each other.
    private static void Update(Dictionary<string, string> section, Dictionary<string, string?> updates)
    {
        if (updates.TryGetValue("endpoint", out var e) && e is not null || updates.TryGetValue("region", out var r) && r is not null)
        {
            section.Remove("endpoint");
            section.Remove("region");
        }
        foreach (var (k, v) in updates) if (v is not null) section[k] = v;
    }

    private static string? Get(Dictionary<string, string> s, string key) => s.TryGetValue(key, out var v) ? Blank(v) : null;
    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static string ExpandHome(string path, DWaveConfigSources src) =>
        path == "~" ? src.HomeDirectory
        : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(src.HomeDirectory, path[2..])
        : Path.IsPathRooted(path) ? path : Path.Combine(src.WorkingDirectory, path);
}
