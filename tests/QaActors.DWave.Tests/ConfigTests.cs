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
    public void Default_IsNaWest1()
    {
        var c = DWaveConfig.Load(null, Sources);
        Assert.Equal("https://na-west-1.cloud.dwavesys.com/sapi/v2/", c.ResolvedEndpoint.AbsoluteUri);
        Assert.Null(c.Token);
        var e = Assert.Throws<DWaveConfigException>(() => c.RequireToken());
        Assert.Contains("DWAVE_API_TOKEN", e.Message);
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
        Write(UserFile, "# comment\n; other\n[p]\nSolver: Colon\nheaders = a\n  b\n");
        var c = DWaveConfig.Load(null, Sources);
        Assert.Equal("Colon", c.Solver);
        Assert.Equal("a\nb", c.Other["headers"]);
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
