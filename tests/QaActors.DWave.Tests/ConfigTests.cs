using System.Text.Json;
using QaActors.DWave.Config;

namespace QaActors.DWave.Tests;

public sealed class ConfigTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("qa-dwave-conf-").FullName;
    private readonly Dictionary<string, string> _env = new();
    private string Home => Path.Combine(_root, "home");
    private string Cwd => Path.Combine(_root, "cwd");

    public ConfigTests()
    {
        Directory.CreateDirectory(Home);
        Directory.CreateDirectory(Cwd);
        _env["XDG_CONFIG_DIRS"] = Path.Combine(_root, "etcxdg");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private DWaveConfigSources Sources => new(k => _env.GetValueOrDefault(k), Cwd, Home);

    private void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private string UserFile => Path.Combine(Home, ".config", "dwave", "dwave.conf");

    [Fact]
    public void Precedence_IsFlagsOverEnvOverFile()
    {
        Write(UserFile, "[defaults]\ntoken = FILE-token1234\nsolver = FileSolver\n\n[prod]\nendpoint = https://file.example/sapi/v2/\n");
        var c = DWaveConfig.Load(null, Sources);
        Assert.Equal("prod", c.Profile);
        Assert.Equal("FILE-token1234", c.Token!.Reveal());
        Assert.Equal("FileSolver", c.Solver);
        Assert.Equal("https://file.example/sapi/v2/", c.ResolvedEndpoint.AbsoluteUri);

        _env["DWAVE_API_TOKEN"] = "ENV-token5678";
        _env["DWAVE_API_SOLVER"] = "EnvSolver";
        c = DWaveConfig.Load(null, Sources);
        Assert.Equal("ENV-token5678", c.Token!.Reveal());
        Assert.Equal("EnvSolver", c.Solver);

        c = DWaveConfig.Load(new DWaveConfigOverrides { Token = "FLAG-tokenabcd", Solver = "FlagSolver" }, Sources);
        Assert.Equal("FLAG-tokenabcd", c.Token!.Reveal());
        Assert.Equal("FlagSolver", c.Solver);
        // Blank values never override (dwave-cloud-client update_config skips None and '').
        c = DWaveConfig.Load(new DWaveConfigOverrides { Token = "  " }, Sources);
        Assert.Equal("ENV-token5678", c.Token!.Reveal());
    }

    [Fact]
    public void RegionOnAHigherLevel_ClearsEndpointFromFile_AndViceVersa()
    {
        Write(UserFile, "[p]\nendpoint = https://file.example/sapi/v2/\n");
        _env["DWAVE_API_REGION"] = "eu-central-1";
        var c = DWaveConfig.Load(null, Sources);
        Assert.Null(c.Endpoint);
        Assert.Equal("https://eu-central-1.cloud.dwavesys.com/sapi/v2/", c.ResolvedEndpoint.AbsoluteUri);
        c = DWaveConfig.Load(new DWaveConfigOverrides { Endpoint = "http://127.0.0.1:5000/sapi/v2" }, Sources);
        Assert.Null(c.Region);
        Assert.Equal("http://127.0.0.1:5000/sapi/v2/", c.ResolvedEndpoint.AbsoluteUri);
    }

    [Fact]
    public void Default_IsOceansDefaultEndpoint_AndTheDefaultRegionNeedsNoLookup()
    {
        // dwave-cloud-client config/constants.py DEFAULT_SOLVER_API_ENDPOINT; regions.py short-circuits the
        // default region with the default Metadata API to it.
        var c = DWaveConfig.Load(null, Sources);
        Assert.Equal("https://cloud.dwavesys.com/sapi/", c.ResolvedEndpoint.AbsoluteUri);
        Assert.False(c.NeedsMetadataLookup);
        Assert.Equal("https://cloud.dwavesys.com/metadata/v1/", c.MetadataApiEndpoint.AbsoluteUri);
        Assert.Null(c.Token);
        var e = Assert.Throws<DWaveConfigException>(() => c.RequireToken());
        Assert.Contains("DWAVE_API_TOKEN", e.Message);
        _env["DWAVE_API_REGION"] = "na-west-1";
        c = DWaveConfig.Load(null, Sources);
        Assert.False(c.NeedsMetadataLookup);
        Assert.Equal("https://cloud.dwavesys.com/sapi/", c.ResolvedEndpoint.AbsoluteUri);
        // Another region goes through the Metadata API; without the network, the built-in list answers.
        _env["DWAVE_API_REGION"] = "na-east-1";
        c = DWaveConfig.Load(null, Sources);
        Assert.True(c.NeedsMetadataLookup);
        Assert.Equal("https://na-east-1.cloud.dwavesys.com/sapi/v2/", c.ResolvedEndpoint.AbsoluteUri);
        _env["DWAVE_API_REGION"] = "mars-north-1";
        var u = Assert.Throws<DWaveConfigException>(() => DWaveConfig.Load(null, Sources).ResolvedEndpoint);
        Assert.Contains("mars-north-1", u.Message);
        Assert.Contains("DWAVE_API_REGION", u.Message);
        Assert.Contains("na-west-1, eu-central-1, na-east-1", u.Message);
    }

    [Fact]
    public void XdgConfigDirs_AreReadInOceansOrder_LaterEntriesOverrideEarlierOnes()
    {
        // homebase site_config_dir_list keeps $XDG_CONFIG_DIRS's order and dwave-cloud-client loads the files in
        // that order, so a later directory's value wins; the user and local files override both.
        string a = Path.Combine(_root, "xdg-a"), b = Path.Combine(_root, "xdg-b");
        _env["XDG_CONFIG_DIRS"] = a + ":" + b + "/";
        Write(Path.Combine(a, "dwave", "dwave.conf"), "[p]\nsolver = FromA\nendpoint = https://a.example/sapi/v2/\n");
        Write(Path.Combine(b, "dwave", "dwave.conf"), "[p]\nsolver = FromB\n");
        var paths = DWaveConfig.CandidatePaths(Sources);
        Assert.Equal(Path.Combine(a, "dwave", "dwave.conf"), paths[0]);
        Assert.Equal(Path.Combine(b, "dwave", "dwave.conf"), paths[1]);
        var c = DWaveConfig.Load(null, Sources);
        Assert.Equal("FromB", c.Solver);
        Assert.Equal("https://a.example/sapi/v2/", c.ResolvedEndpoint.AbsoluteUri);
        Write(UserFile, "[p]\nsolver = User\n");
        Assert.Equal("User", DWaveConfig.Load(null, Sources).Solver);
        // '~' in an entry is the home directory, as homebase's expanduser makes it.
        _env["XDG_CONFIG_DIRS"] = "~/site";
        Assert.Equal(Path.Combine(Home, "site", "dwave", "dwave.conf"), DWaveConfig.CandidatePaths(Sources)[0]);
    }

    [Fact]
    public void ProfileSelection_FollowsOcean()
    {
        Write(UserFile, "[defaults]\nprofile = second\nsolver = D\n\n[first]\nsolver = A\n\n[second]\ntoken = TOK-second\n");
        var c = DWaveConfig.Load(null, Sources);
        Assert.Equal("second", c.Profile);
        Assert.Equal("D", c.Solver); // inherited from [defaults]
        _env["DWAVE_PROFILE"] = "first";
        Assert.Equal("A", DWaveConfig.Load(null, Sources).Solver);
        Assert.Equal("A", DWaveConfig.Load(new DWaveConfigOverrides { Profile = "first" }, Sources).Solver);
        var e = Assert.Throws<DWaveConfigException>(() => DWaveConfig.Load(new DWaveConfigOverrides { Profile = "nope" }, Sources));
        Assert.Contains("nope", e.Message);
        _env.Remove("DWAVE_PROFILE");
        // Without a profile key the first section is used.
        Write(UserFile, "[defaults]\nsolver = D\n\n[first]\nsolver = A\n\n[second]\nsolver = B\n");
        Assert.Equal("first", DWaveConfig.Load(null, Sources).Profile);
    }

    [Fact]
    public void LocalFile_OverridesUserFile_OverridesSystemFile_KeyByKey()
    {
        Write(Path.Combine(_root, "etcxdg", "dwave", "dwave.conf"), "[p]\nsolver = System\ntoken = SYS-1\nendpoint = https://sys.example/\n");
        Write(UserFile, "[p]\nsolver = User\n");
        Write(Path.Combine(Cwd, "dwave.conf"), "[p]\ntoken = LOC-1\n");
        var c = DWaveConfig.Load(null, Sources);
        Assert.Equal("User", c.Solver);
        Assert.Equal("LOC-1", c.Token!.Reveal());
        Assert.Equal("https://sys.example/", c.ResolvedEndpoint.AbsoluteUri);
        Assert.Equal(3, c.Files.Count);
        // XDG_CONFIG_HOME moves the user file.
        _env["XDG_CONFIG_HOME"] = Path.Combine(_root, "xdghome");
        Write(Path.Combine(_root, "xdghome", "dwave", "dwave.conf"), "[p]\nsolver = XdgUser\n");
        Assert.Equal("XdgUser", DWaveConfig.Load(null, Sources).Solver);
    }

    [Fact]
    public void ExplicitConfigFile_ReplacesSearch_AndMustExist()
    {
        Write(UserFile, "[p]\nsolver = User\n");
        string f = Path.Combine(_root, "other.conf");
        Write(f, "[q]\nsolver = Explicit\n");
        _env["DWAVE_CONFIG_FILE"] = f;
        Assert.Equal("Explicit", DWaveConfig.Load(null, Sources).Solver);
        Assert.Equal("Explicit", DWaveConfig.Load(new DWaveConfigOverrides { ConfigFile = f }, Sources).Solver);
        var e = Assert.Throws<DWaveConfigException>(() => DWaveConfig.Load(new DWaveConfigOverrides { ConfigFile = f + ".missing" }, Sources));
        Assert.Contains("does not exist", e.Message);
        Assert.Null(DWaveConfig.Load(new DWaveConfigOverrides { IgnoreConfigFiles = true }, Sources).Solver);
    }

    [Fact]
    public void Ini_SupportsCommentsColonsContinuationsAndReportsBadLinesWithoutEchoingThem()
    {
        Write(UserFile, "# comment\n; other\n[p]\nSolver: Colon\nheaders = X-A: 1\n  X-B: two\n");
        var c = DWaveConfig.Load(null, Sources);
        Assert.Equal("Colon", c.Solver);
        Assert.Equal("X-A: 1\nX-B: two", c.Other["headers"]);
        Assert.Equal(new[] { KeyValuePair.Create("X-A", "1"), KeyValuePair.Create("X-B", "two") }, c.Headers);
        Write(UserFile, "[p]\nDEV-abcdef0123456789secret\n");
        var e = Assert.Throws<DWaveConfigException>(() => DWaveConfig.Load(null, Sources));
        Assert.Contains(":2:", e.Message);
        Assert.DoesNotContain("secret", e.Message);
    }

    [Fact]
    public void Token_IsMaskedEverywhere()
    {
        const string secret = "DEV-0123456789abcdef0123456789abcdef01234567";
        _env["DWAVE_API_TOKEN"] = secret;
        var c = DWaveConfig.Load(null, Sources);
        Assert.DoesNotContain("0123456789", c.ToString());
        Assert.DoesNotContain("0123456789", c.Token!.ToString());
        Assert.Equal("DEV-****", c.Token.ToString());
        Assert.DoesNotContain("0123456789", JsonSerializer.Serialize(new { token = c.Token }));
        Assert.DoesNotContain("0123456789", $"{c.Token}");
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<SecretToken>("\"x\""));
        Assert.Equal(secret, c.Token.Reveal());
        Assert.DoesNotContain(c.Other, kv => kv.Value.Contains("0123456789"));
    }
}
