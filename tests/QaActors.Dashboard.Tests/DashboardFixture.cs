using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using QaActors.Cli.Tests;

namespace QaActors.Dashboard.Tests;

/// <summary>A fact that runs only where Debian's chromium is installed (CI installs it: .ci/run).</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Chromium)) Skip = $"{Chromium} is missing: install Debian's chromium (apt-get install chromium) to run the dashboard's browser tests";
    }
}

/// <summary>
/// One simulated QPU, one `qa node` using it, the users alice and bob (alice with a 5 s QPU quota) and a headless
/// chromium, shared by the dashboard tests (starting them takes most of the suite's time).
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private SapiSimProcess? _sim;
    private IPlaywright? _playwright;
    private readonly Lazy<Task<string>> _aliceRun;

    public NodeProcess Node { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "qa-dashboard-test-" + Guid.NewGuid().ToString("N")[..8]);
    public Dictionary<string, string> Tokens { get; } = new();
    public string ScreenshotDir { get; }

    public DashboardFixture()
    {
        _aliceRun = new(() => FinishedRunAsync("alice"));
        // TestResults/ of the test project (ignored by git), found from the test assembly's folder.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "QaActors.Dashboard.Tests.csproj"))) dir = dir.Parent;
        ScreenshotDir = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "TestResults", "screenshots");
    }

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumFactAttribute.Chromium)) return; // every test is skipped
        Directory.CreateDirectory(ScreenshotDir);
        _sim = SapiSimProcess.Start(0, "--dead-fraction", "0");
        NodeProcess.NewDataDir(DataDir);
        Node = NodeProcess.Start(DataDir, new Dictionary<string, string>
        {
            ["DWAVE_API_ENDPOINT"] = _sim.Endpoint, ["DWAVE_API_TOKEN"] = SapiSimProcess.Token, ["DWAVE_API_SOLVER"] = "Advantage_sim4.1",
        });
        Tokens["admin"] = Node.AdminToken;
        using var admin = Node.Client(Node.AdminToken);
        foreach (var user in new[] { "alice", "bob" }) await AddUserAsync(user);
        (await admin.PutAsJsonAsync("api/v1/quotas/alice", new { seconds = 5.0 })).EnsureSuccessStatusCode();
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumFactAttribute.Chromium, Headless = true });
    }

    /// <summary>Adds a user through the API (as the admin) and keeps the token.</summary>
    public async Task AddUserAsync(string user)
    {
        using var admin = Node.Client(Node.AdminToken);
        var r = await admin.PostAsJsonAsync("api/v1/users", new { name = user });
        Assert.True(r.IsSuccessStatusCode, $"adding {user} answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
        Tokens[user] = JsonNode.Parse(await r.Content.ReadAsStringAsync())!["token"]!.GetValue<string>();
    }

    /// <summary>A new browser context (its own sessionStorage) at the dashboard, signed in with the user's token unless null.</summary>
    public async Task<IPage> OpenAsync(string? user, int width = 1280, int height = 900, string fragment = "")
    {
        var context = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = width, Height = height }, AcceptDownloads = true });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        _errors[page] = errors;
        // Script failures of the page itself; the browser's own lines about refused requests (401, 404) are expected.
        page.PageError += (_, e) => { lock (errors) errors.Add(e); };
        // Everything comes from the node: a request anywhere else (a CDN, a font service) is a failure too.
        string origin = Node.Api.GetLeftPart(UriPartial.Authority);
        page.Request += (_, r) => { if (!r.Url.StartsWith(origin + "/", StringComparison.Ordinal) && !r.Url.StartsWith("blob:", StringComparison.Ordinal)) lock (errors) errors.Add($"request outside the node: {r.Url}"); };
        page.Console += (_, m) => { if (m.Type == "error" && !m.Text.StartsWith("Failed to load resource", StringComparison.Ordinal)) lock (errors) errors.Add(m.Text); };
        await page.GotoAsync(new Uri(Node.Api, "/" + fragment).ToString());
        if (user is not null) await SignInAsync(page, Tokens[user]);
        return page;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<IPage, List<string>> _errors = new();

    /// <summary>Fails if the page's scripts threw or logged an error, or it requested anything from elsewhere, since it was opened.</summary>
    public void AssertNoScriptErrors(IPage page)
    {
        var errors = _errors[page];
        lock (errors) Assert.True(errors.Count == 0, "the page's scripts failed:\n" + string.Join("\n", errors));
    }

    /// <summary>Types the token into the sign-in form and submits it with the keyboard, as a person would.</summary>
    public static async Task SignInAsync(IPage page, string token)
    {
        await page.Locator("#token").FillAsync(token);
        await page.Locator("#token").PressAsync("Enter");
        await page.Locator("#nav").WaitForAsync(new() { State = WaitForSelectorState.Visible });
    }

    public async Task ShotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDir, name + ".png"), FullPage = true });

    public HttpClient Api(string user) => Node.Client(Tokens[user]);

    /// <summary>Submits a gibbs experiment as <paramref name="user"/> through the API and returns its id.</summary>
    public async Task<string> SubmitAsync(string user, JsonObject config, string? idempotencyKey = null)
    {
        using var c = Api(user);
        using var req = new HttpRequestMessage(HttpMethod.Post, "api/v1/experiments")
        {
            Content = JsonContent.Create(new { config, task = new { dataset = "mnist", class_a = 0, class_b = 1, train_size = "20", test_size = "all" } }),
        };
        if (idempotencyKey is not null) req.Headers.Add("Idempotency-Key", idempotencyKey);
        var r = await c.SendAsync(req);
        Assert.True(r.IsSuccessStatusCode, $"submit answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
        return JsonNode.Parse(await r.Content.ReadAsStringAsync())!["experiment_id"]!.GetValue<string>();
    }

    public async Task<JsonNode> ExperimentAsync(string user, string id)
    {
        using var c = Api(user);
        return JsonNode.Parse(await c.GetStringAsync($"api/v1/experiments/{id}"))!;
    }

    public async Task<JsonNode> WaitForStateAsync(string user, string id, string state, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (true)
        {
            var x = await ExperimentAsync(user, id);
            if (x["state"]!.GetValue<string>() == state) return x;
            if (DateTime.UtcNow > until) throw new TimeoutException($"{id} is {x["state"]} after {limit}, not {state}:\n{Node.Stderr}");
            await Task.Delay(250);
        }
    }

    /// <summary>A short finished gibbs run of alice's, made once for the tests that need one to exist.</summary>
    public Task<string> AliceFinishedRunAsync() => _aliceRun.Value;

    private async Task<string> FinishedRunAsync(string user)
    {
        string id = await SubmitAsync(user, new JsonObject { ["Method"] = "Gibbs", ["Hidden"] = 16, ["Steps"] = 3, ["Reads"] = 10, ["Sweeps"] = 20, ["Seed"] = 2 }, "finished-run");
        await WaitForStateAsync(user, id, "completed", TimeSpan.FromSeconds(60));
        return id;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        Node?.Dispose();
        _sim?.Dispose();
        if (Directory.Exists(DataDir)) Directory.Delete(DataDir, recursive: true);
    }
}
