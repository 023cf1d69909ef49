using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace QaActors.Dashboard.Tests;

/// <summary>
/// The dashboard in a real chromium against a real `qa node` (docs/operations.md, "Dashboard"). Screenshots of every page
/// go to TestResults/screenshots of this project.
/// </summary>
public sealed partial class DashboardTests(DashboardFixture f) : IClassFixture<DashboardFixture>
{
    private static readonly JsonObject LongGibbs = new()
    {
        // The paper's Sec. 5.2 settings with a narrower hidden layer (the suite shares its cores in CI): a step takes a
        // visible moment, and the run is cancelled long before its last step.
        ["Method"] = "Gibbs", ["Hidden"] = 128, ["Steps"] = 5000, ["Reads"] = 100, ["Seed"] = 1,
    };

    private static readonly JsonObject ShortQpu = new()
    {
        ["Method"] = "Qpu", ["Hidden"] = 16, ["Steps"] = 4, ["Reads"] = 200, ["TEff"] = 16, ["Tiles"] = 5, ["Sweeps"] = 20, ["Seed"] = 3,
    };

    private static async Task<int> PointsAsync(IPage page, string chart) =>
        int.Parse(await page.Locator(chart).GetAttributeAsync("data-points") ?? "0", CultureInfo.InvariantCulture);

    private static async Task<double> NumberAsync(ILocator cell) =>
        double.Parse((await cell.InnerTextAsync()).Trim(), CultureInfo.InvariantCulture);

    /// <summary>Waits until the JS predicate holds (the page is never reloaded for it).</summary>
    private static Task WaitAsync(IPage page, string predicate, float ms = 30000) =>
        page.WaitForFunctionAsync(predicate, null, new() { Timeout = ms, PollingInterval = 100 });

    [ChromiumFact]
    public async Task A_user_signs_in_watches_a_run_grow_live_cancels_it_and_sees_the_gateway_and_quota_move()
    {
        var page = await f.OpenAsync(null);
        await Assertions.Expect(page.Locator("#sign-in .banner")).ToContainTextAsync("Sign in with your QaActors token");
        await f.ShotAsync(page, "01-sign-in");
        // Keyboard only: the token field has the focus, Enter submits.
        Assert.Equal("token", await page.EvaluateAsync<string>("() => document.activeElement.id"));
        await page.Keyboard.TypeAsync(f.Tokens["alice"]);
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Overview");
        await Assertions.Expect(page.Locator("#who-name")).ToHaveTextAsync("alice");
        // The token is in the tab's session storage only: not in the URL, local storage or a cookie.
        Assert.Equal(f.Tokens["alice"], await page.EvaluateAsync<string>("() => sessionStorage.getItem('qa-dashboard-token')"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length"));
        Assert.Equal("", await page.EvaluateAsync<string>("() => document.cookie"));
        Assert.DoesNotContain(f.Tokens["alice"], page.Url);
        Assert.Empty(await page.Context.CookiesAsync());

        // A long gibbs run, started through the API, appears in the table.
        string gibbs = await f.SubmitAsync("alice", LongGibbs.DeepClone().AsObject());
        await page.Locator("#nav a[data-page=experiments]").ClickAsync();
        var row = page.Locator($"#experiments tr[data-id='{gibbs}']");
        await Assertions.Expect(row).ToContainTextAsync("running");
        var cells = await row.Locator("td").AllInnerTextsAsync();
        Assert.Equal([gibbs, "alice", "mnist", "0,1", "gibbs"], cells.Take(5));

        // Its page draws the accuracy curve and the curve grows while we look, without a reload.
        await row.Locator("a").ClickAsync();
        await page.EvaluateAsync("() => { window.__sameDocument = 'yes'; }");
        await WaitAsync(page, "() => +document.querySelector('#accuracy-chart').dataset.points >= 4");
        int before = await PointsAsync(page, "#accuracy-chart");
        await WaitAsync(page, $"() => +document.querySelector('#accuracy-chart').dataset.points >= {before + 6}");
        int after = await PointsAsync(page, "#accuracy-chart");
        Assert.True(after >= before + 6, $"{before} -> {after} points");
        // What the chart says it plotted is what it drew (read at one moment: steps keep arriving).
        var drawn = await page.EvaluateAsync<int[]>("() => { const c = document.querySelector('#accuracy-chart'); return [+c.dataset.points, c.querySelectorAll('circle.pt').length]; }");
        Assert.Equal(drawn[0], drawn[1]);
        Assert.True(await PointsAsync(page, "#loss-chart") > 0);
        Assert.Equal("yes", await page.EvaluateAsync<string>("() => window.__sameDocument"));
        await Assertions.Expect(page.Locator("#settings")).ToContainTextAsync("128");
        await Assertions.Expect(page.Locator("#samplers")).ToContainTextAsync("gibbs");
        await f.ShotAsync(page, "03-experiment-live");

        // Cancel with the keyboard; the page shows the end without a reload and the API agrees.
        await page.Locator("#cancel").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("cancelled", new() { Timeout = 90000 });
        await Assertions.Expect(page.Locator("#cancel")).ToBeHiddenAsync();
        var cancelled = await f.ExperimentAsync("alice", gibbs);
        Assert.Equal("cancelled", cancelled["state"]!.GetValue<string>());
        Assert.True(cancelled["step"]!.GetValue<long>() < 5000);
        Assert.Equal("yes", await page.EvaluateAsync<string>("() => window.__sameDocument"));
        await f.ShotAsync(page, "04-experiment-cancelled");

        // The overview: nothing charged yet; a short QPU run against the simulator moves the gateway and the quota live.
        await page.Locator("#nav a[data-page=overview]").ClickAsync();
        var aliceQuota = page.Locator("#quotas tr[data-user=alice]");
        await Assertions.Expect(aliceQuota.Locator("[data-field=limit]")).ToHaveTextAsync("5.000");
        Assert.Equal(0.0, await NumberAsync(aliceQuota.Locator("[data-field=charged]")));
        var gateway = page.Locator(".gateway[data-solver='Advantage_sim4.1']");
        await Assertions.Expect(gateway.Locator("[data-field=breaker]")).ToHaveTextAsync("breaker closed");
        Assert.Equal("0", await gateway.Locator("[data-field=submitted]").InnerTextAsync());
        await Assertions.Expect(page.Locator("#members tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#members tbody tr td").Nth(3)).ToHaveTextAsync("yes");
        await f.ShotAsync(page, "05-overview-before");
        string qpu = await f.SubmitAsync("alice", ShortQpu.DeepClone().AsObject());
        await WaitAsync(page, """
            () => {
                const q = document.querySelector('#quotas tr[data-user=alice] [data-field=charged]');
                const s = document.querySelector(".gateway[data-solver='Advantage_sim4.1'] [data-field=submitted]");
                const t = document.querySelector(".gateway[data-solver='Advantage_sim4.1'] tr[data-user=alice] [data-field=qpu-time]");
                return q && s && t && +q.textContent > 0 && +s.textContent > 0 && +t.textContent > 0;
            }
            """, 90000);
        Assert.Equal("yes", await page.EvaluateAsync<string>("() => window.__sameDocument"));
        Assert.True(await NumberAsync(aliceQuota.Locator("[data-field=remaining]")) < 5.0);
        await f.ShotAsync(page, "05-overview-after");
        var done = await f.WaitForStateAsync("alice", qpu, "completed", TimeSpan.FromSeconds(90));
        // What the overview showed settles on what the ledger charged.
        double charged = done["provenance"]!["qpu_access_time"]!.GetValue<double>();
        await Assertions.Expect(aliceQuota.Locator("[data-field=charged]")).ToHaveTextAsync(charged.ToString("F3", CultureInfo.InvariantCulture), new() { Timeout = 10000 });
        // The gateway's own count agrees, and an admin sees alice's line too.
        using (var admin = f.Api("admin"))
        {
            var line = JsonNode.Parse(await admin.GetStringAsync("api/v1/gateways"))!.AsArray().Single()!["users"]!.AsArray()
                .Single(u => u!["user"]!.GetValue<string>() == "alice")!;
            Assert.Equal(charged, line["qpu_access_time"]!.GetValue<double>(), 6);
            Assert.Equal(0, line["queued"]!.GetValue<int>());
        }

        // The finished QPU run's page: provenance from the QPU, and an artefact downloaded with the bearer header.
        await page.GotoAsync(new Uri(f.Node.Api, $"/#/experiments/{qpu}").ToString());
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("completed");
        await Assertions.Expect(page.Locator("#samplers")).ToContainTextAsync("qpu");
        Assert.True(double.Parse((await page.Locator("#qpu-time").InnerTextAsync()).Split(' ')[0], CultureInfo.InvariantCulture) > 0);
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("button[data-artifact='metrics.csv']").ClickAsync());
        Assert.Equal("metrics.csv", download.SuggestedFilename);
        string csv = await File.ReadAllTextAsync((await download.PathAsync())!);
        Assert.StartsWith("step", csv);
        Assert.Equal(done["history"]!.AsArray().Count + 1, csv.Trim().Split('\n').Length); // a header and a line per recorded step
        await f.ShotAsync(page, "06-experiment-qpu");

        // The table filters and sorts.
        await page.Locator("#nav a[data-page=experiments]").ClickAsync();
        await Assertions.Expect(page.Locator($"#experiments tr[data-id='{qpu}']")).ToBeVisibleAsync();
        await page.Locator("#filter").FillAsync("qpu");
        await Assertions.Expect(page.Locator("#experiments tbody tr")).ToHaveCountAsync(1);
        await page.Locator("#filter").FillAsync("");
        await page.Locator("#state-filter").SelectOptionAsync("cancelled");
        await Assertions.Expect(page.Locator("#experiments tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#experiments tbody tr")).ToHaveAttributeAsync("data-id", gibbs);
        await page.Locator("#state-filter").SelectOptionAsync("");
        var sortStep = page.Locator("button[data-sort=step]");
        await sortStep.ClickAsync();
        await sortStep.ClickAsync(); // descending: the cancelled long run (more steps) first
        await Assertions.Expect(page.Locator("th:has(button[data-sort=step])")).ToHaveAttributeAsync("aria-sort", "descending");
        Assert.Equal(gibbs, await page.Locator("#experiments tbody tr").First.GetAttributeAsync("data-id"));
        // Sorting by keyboard keeps the focus on the header button.
        await sortStep.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        Assert.Equal("step", await page.EvaluateAsync<string>("() => document.activeElement.dataset.sort"));
        await f.ShotAsync(page, "02-experiments");
        f.AssertNoScriptErrors(page);
        await page.Context.CloseAsync();
    }

    [ChromiumFact]
    public async Task Another_user_sees_none_of_it_and_a_bad_or_missing_token_lands_on_the_sign_in_page()
    {
        string id = await f.AliceFinishedRunAsync();
        var page = await f.OpenAsync("bob");
        await page.Locator("#nav a[data-page=experiments]").ClickAsync();
        await Assertions.Expect(page.Locator("#experiments-count")).ToHaveTextAsync("You have no experiments yet.");
        await Assertions.Expect(page.Locator("#experiments tbody tr")).ToHaveCountAsync(0);
        // Her page, opened directly, does not exist for him.
        await page.GotoAsync(new Uri(f.Node.Api, $"/#/experiments/{id}").ToString());
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Experiment not found");
        await Assertions.Expect(page.Locator(".banner")).ToContainTextAsync($"no experiment '{id}' of yours");
        await f.ShotAsync(page, "07-other-users-experiment");
        // The overview shows him his own quota and gateway line only.
        await page.Locator("#nav a[data-page=overview]").ClickAsync();
        await Assertions.Expect(page.Locator("#quotas tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#quotas tbody tr")).ToHaveAttributeAsync("data-user", "bob");
        await Assertions.Expect(page.Locator(".gateway tr[data-user]")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator(".gateway tr[data-user]")).ToHaveAttributeAsync("data-user", "bob");
        await Assertions.Expect(page.Locator("#set-quota")).ToHaveCountAsync(0);
        f.AssertNoScriptErrors(page);
        await page.Context.CloseAsync();

        // The API behind the pages keeps its rules.
        using var anonymous = f.Node.Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/")).StatusCode);
        var index = await anonymous.GetAsync("/");
        Assert.Contains("script-src 'self'", index.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", index.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/ui/app.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/ui/secret.json")).StatusCode);
        foreach (var path in new[] { "api/v1/me", "api/v1/gateways", "api/v1/experiments", $"api/v1/experiments/{id}/events" })
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        using var bob = f.Api("bob");
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"api/v1/experiments/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"api/v1/experiments/{id}/events")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"api/v1/experiments/{id}/artifacts/metrics.csv")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.PutAsync("api/v1/quotas/bob", new StringContent("{\"seconds\": 100}", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
        var gateways = JsonNode.Parse(await bob.GetStringAsync("api/v1/gateways"))!.AsArray();
        Assert.All(gateways, g => Assert.Equal(["bob"], g!["users"]!.AsArray().Select(u => u!["user"]!.GetValue<string>())));

        // No token, following a link to a page: the sign-in page says why, and signing in opens that page.
        var fresh = await f.OpenAsync(null, fragment: $"#/experiments/{id}");
        await Assertions.Expect(fresh.Locator("#sign-in .banner")).ToContainTextAsync("Sign in with your QaActors token");
        await DashboardFixture.SignInAsync(fresh, f.Tokens["alice"]);
        await Assertions.Expect(fresh.Locator("#state")).ToHaveTextAsync("completed");
        f.AssertNoScriptErrors(fresh);
        await fresh.Context.CloseAsync();

        // A bad token: the sign-in page again, with the reason. (One try: bad tokens are rate-limited per address.)
        var bad = await f.OpenAsync(null);
        await bad.Locator("#token").FillAsync("qa_this-is-not-a-token");
        await bad.Locator("#token").PressAsync("Enter");
        await Assertions.Expect(bad.Locator("#sign-in .banner")).ToContainTextAsync("That token was not accepted");
        await Assertions.Expect(bad.Locator("#nav")).ToBeHiddenAsync();
        Assert.Null(await bad.EvaluateAsync<string?>("() => sessionStorage.getItem('qa-dashboard-token')"));
        await f.ShotAsync(bad, "08-bad-token");
        f.AssertNoScriptErrors(bad);
        await bad.Context.CloseAsync();

        // A token revoked while its page is open: the next refresh lands on the sign-in page, saying why.
        await f.AddUserAsync("carol");
        var revoked = await f.OpenAsync("carol", fragment: "#/experiments");
        await Assertions.Expect(revoked.Locator("#experiments-count")).ToHaveTextAsync("You have no experiments yet.");
        using (var admin = f.Api("admin")) Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("api/v1/users/carol")).StatusCode);
        await Assertions.Expect(revoked.Locator("#sign-in .banner")).ToContainTextAsync("did not accept your token", new() { Timeout = 10000 });
        Assert.Null(await revoked.EvaluateAsync<string?>("() => sessionStorage.getItem('qa-dashboard-token')"));
        f.AssertNoScriptErrors(revoked);
        await revoked.Context.CloseAsync();
    }

    [ChromiumFact]
    public async Task The_experiment_page_reconnects_by_itself_after_its_live_stream_is_lost()
    {
        // A small network: this test is about the stream, and the suite shares its cores with others in CI.
        string id = await f.SubmitAsync("admin", new JsonObject { ["Method"] = "Gibbs", ["Hidden"] = 32, ["Steps"] = 5000, ["Reads"] = 20, ["Sweeps"] = 50, ["Seed"] = 4 });
        var page = await f.OpenAsync("admin");
        // The first two connections to the event stream break (a reset, then a stream that ends mid-run); the
        // third reaches the node. The page must keep trying, with a growing pause, and then draw the live curve.
        var attempts = new List<DateTime>();
        await page.RouteAsync($"**/api/v1/experiments/{id}/events", async route =>
        {
            int n;
            lock (attempts) { attempts.Add(DateTime.UtcNow); n = attempts.Count; }
            if (n == 1) await route.AbortAsync("connectionreset");
            else if (n == 2) await route.FulfillAsync(new() { Status = 200, ContentType = "text/event-stream", Body = "retry: 100\n\n" });
            else await route.ContinueAsync();
        });
        await page.GotoAsync(new Uri(f.Node.Api, $"/#/experiments/{id}").ToString());
        await Assertions.Expect(page.Locator("#live")).ToContainTextAsync("reconnecting", new() { Timeout = 10000 });
        await WaitAsync(page, "() => +document.querySelector('#accuracy-chart').dataset.points >= 4");
        int before = await PointsAsync(page, "#accuracy-chart");
        await WaitAsync(page, $"() => +document.querySelector('#accuracy-chart').dataset.points >= {before + 4}");
        lock (attempts)
        {
            Assert.Equal(3, attempts.Count);
            // 1 s after the reset, then 2 s after the empty stream: the pause grows while nothing gets through.
            Assert.True(attempts[1] - attempts[0] >= TimeSpan.FromSeconds(0.9), $"first retry after {attempts[1] - attempts[0]}");
            Assert.True(attempts[2] - attempts[1] >= TimeSpan.FromSeconds(1.9), $"second retry after {attempts[2] - attempts[1]}");
        }
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("Live: following the experiment.");
        f.AssertNoScriptErrors(page);
        await page.Context.CloseAsync();
        // Stop the run so that it does not share the cores with the other tests (the node goes when the fixture does).
        using var admin = f.Api("admin");
        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync($"api/v1/experiments/{id}/cancel", null)).StatusCode);
    }

    // The element sticking out furthest to the right, for the failure message.
    private const string Widest = "() => { let w = null; for (const e of document.querySelectorAll('body *')) { const r = e.getBoundingClientRect().right; "
        + "if (!w || r > w.r) w = { r, d: e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className }; } return `${document.documentElement.scrollWidth} px; widest ${w.d} to ${w.r} px`; }";

    [ChromiumFact]
    public async Task An_admin_sees_everyones_work_sets_a_quota_and_the_pages_fit_a_narrow_window()
    {
        string id = await f.AliceFinishedRunAsync();
        var page = await f.OpenAsync("admin");
        await Assertions.Expect(page.Locator("#who-name")).ToHaveTextAsync("admin (admin)");
        await page.Locator("#quota-user").FillAsync("bob");
        await page.Locator("#quota-seconds").FillAsync("3");
        await page.Locator("#set-quota button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("#quota-message")).ToHaveTextAsync("bob's quota is now 3 s.");
        await Assertions.Expect(page.Locator("#quotas tr[data-user=bob] [data-field=limit]")).ToHaveTextAsync("3.000", new() { Timeout = 10000 });
        using var admin = f.Api("admin");
        var quotas = JsonNode.Parse(await admin.GetStringAsync("api/v1/quotas"))!.AsArray();
        Assert.Equal(3.0, quotas.Single(q => q!["user"]!.GetValue<string>() == "bob")!["limit_seconds"]!.GetValue<double>());
        // A bad entry is refused in the page, with the reason.
        await page.Locator("#quota-seconds").FillAsync("-1");
        await page.Locator("#set-quota button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("#quota-message")).ToContainTextAsync("0 or more");
        await f.ShotAsync(page, "09-overview-admin");
        await page.Locator("#nav a[data-page=experiments]").ClickAsync();
        await Assertions.Expect(page.Locator($"#experiments tr[data-id='{id}']")).ToContainTextAsync("alice");
        f.AssertNoScriptErrors(page);
        await page.Context.CloseAsync();

        // A phone-width window: every page fits without sideways scrolling of the page itself.
        var narrow = await f.OpenAsync("alice", width: 390, height: 844);
        foreach (var (fragment, name) in new[] { ("#/overview", "10-narrow-overview"), ("#/experiments", "11-narrow-experiments"), ($"#/experiments/{id}", "12-narrow-experiment") })
        {
            await narrow.GotoAsync(new Uri(f.Node.Api, "/" + fragment).ToString());
            await Assertions.Expect(narrow.Locator("main h1")).ToBeVisibleAsync();
            // The page has its data before it is measured and photographed.
            if (fragment.Contains(id, StringComparison.Ordinal)) await Assertions.Expect(narrow.Locator("#state")).ToHaveTextAsync("completed");
            else if (fragment == "#/overview") await Assertions.Expect(narrow.Locator("#overview-updated")).ToContainTextAsync("Updated");
            else await Assertions.Expect(narrow.Locator("#experiments-count")).ToContainTextAsync("shown");
            await f.ShotAsync(narrow, name);
            Assert.True(await narrow.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth + 1"),
                $"{fragment} is wider than the window: {await narrow.EvaluateAsync<string>(Widest)}");
        }
        f.AssertNoScriptErrors(narrow);
        await narrow.Context.CloseAsync();
    }
}
