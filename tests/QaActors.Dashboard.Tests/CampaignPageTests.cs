using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace QaActors.Dashboard.Tests;

/// <summary>The campaign pages: cells turning done live, the report's tables and figures, cancel, and who sees what.</summary>
public sealed partial class DashboardTests
{
    private static string CampaignSpec(string name, string methods, string seeds, string settings, string extra = "") => $$"""
        campaign {
          name = "{{name}}"
          datasets = [ { dataset = mnist, pairs = ["2,3"] } ]
          methods = [{{methods}}]
          seeds = [{{seeds}}]
          settings { {{settings}} }
          max-concurrent = 1
          {{extra}}
        }
        """;

    private async Task<string> SubmitCampaignAsync(string user, string text)
    {
        using var c = f.Api(user);
        var r = await c.PostAsJsonAsync("api/v1/campaigns", new { text, source = "dashboard.conf" });
        Assert.True(r.IsSuccessStatusCode, $"the campaign answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
        return JsonNode.Parse(await r.Content.ReadAsStringAsync())!["campaign_id"]!.GetValue<string>();
    }

    private static readonly byte[] PngMagic = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    [ChromiumFact]
    public async Task A_campaigns_cells_turn_done_live_its_tables_and_figures_appear_and_another_user_cannot_see_it()
    {
        // 1 pair x backprop, gibbs x 2 seeds, one cell at a time: the cells finish one after another while the page watches.
        // The paper's 20 steps of batch 5 with a narrower hidden layer: every run succeeds (so Table 1 and Fig. 4 have
        // numbers and curves), and a gibbs step takes a visible moment.
        // Erin's own user, so that her experiments do not enter the experiment tests' tables.
        await f.AddUserAsync("erin");
        var page = await f.OpenAsync("erin");
        string id = await SubmitCampaignAsync("erin", CampaignSpec("watched", "backprop, gibbs", "1, 2", "hidden = 128, train-size = 20, steps = 20, reads = 100"));
        // Keyboard: the nav link to the campaigns, and from the list the campaign's own link, open its page.
        await page.Locator("#nav a[data-page=campaigns]").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("main h1")).ToHaveTextAsync("Campaigns");
        var listed = page.Locator($"#campaigns tr[data-id='{id}']");
        await Assertions.Expect(listed).ToContainTextAsync("erin", new() { Timeout = 10000 });
        await f.ShotAsync(page, "13-campaigns");
        await listed.Locator("a").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("main h1")).ToContainTextAsync(id);
        await page.EvaluateAsync("() => { window.notReloaded = true; }");
        await Assertions.Expect(page.Locator("#cells tbody tr")).ToHaveCountAsync(4);
        // What the page shows while the campaign runs: at least one cell not done yet (the cells take seconds each).
        var seen = new HashSet<string>();
        bool shotRunning = false;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            var states = await page.Locator("#cells tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.status)");
            foreach (var s in states) seen.Add(s);
            if (states.All(s => s == "completed")) break;
            if (!shotRunning && states.Contains("running"))
            {
                await f.ShotAsync(page, "14-campaign-running");
                shotRunning = true;
            }
            Assert.True(DateTime.UtcNow < until, $"the cells are {string.Join(",", states)} after 120 s:\n{f.Node.Stderr}");
            await Task.Delay(100);
        }
        Assert.True(seen.Contains("waiting") || seen.Contains("running"), $"every cell was done before the page looked: {string.Join(",", seen)}");
        Assert.True(shotRunning, "the page never showed a running cell");
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("completed");
        await Assertions.Expect(page.Locator("#counts")).ToHaveTextAsync("4 done · 0 running · 0 failed · 0 waiting (of 4)");
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("The campaign is completed; nothing more will arrive.");
        await Assertions.Expect(page.Locator("#cells tbody tr[data-status=completed] [data-field=status]")).ToHaveTextAsync(["done", "done", "done", "done"]);
        await Assertions.Expect(page.Locator("#cells tbody tr [data-field=step]").First).ToHaveTextAsync("20/20");

        // Table 1 beside the paper's value (MNIST 2-3: 0.8277 for Classical-1), n = the successful runs; Tables 2 and 3 too.
        var row = page.Locator("#table1 tbody tr[data-pair='mnist 2-3']");
        await Assertions.Expect(row).ToBeVisibleAsync(new() { Timeout = 15000 });
        await Assertions.Expect(row.Locator("[data-method=backprop][data-field=paper]")).ToHaveTextAsync("0.8277");
        using (var api = f.Api("erin"))
        {
            // The page's numbers are the report's.
            var report = JsonNode.Parse(await api.GetStringAsync($"api/v1/campaigns/{id}/report"))!;
            foreach (var r in report["tables"]!.AsArray())
            {
                var acc = r!["final_accuracy"]!;
                string m = r["method"]!.GetValue<string>();
                Assert.Equal(2, acc["n"]!.GetValue<int>());
                string ours = acc["n"]!.GetValue<int>() == 0 ? "–"
                    : acc["n"]!.GetValue<int>() == 1 ? $"{acc["mean"]!.GetValue<double>().ToString("F4", System.Globalization.CultureInfo.InvariantCulture)} (n=1)"
                    : $"{acc["mean"]!.GetValue<double>().ToString("F4", System.Globalization.CultureInfo.InvariantCulture)} ± {acc["std"]!.GetValue<double>().ToString("F4", System.Globalization.CultureInfo.InvariantCulture)} (n={acc["n"]})";
                await Assertions.Expect(row.Locator($"[data-method={m}][data-field=ours]")).ToHaveTextAsync(ours);
                await Assertions.Expect(page.Locator($"#table3 tbody tr[data-pair='mnist 2-3'] [data-method={m}][data-field=ours]"))
                    .ToContainTextAsync($"/{r["runs"]})");
            }
        }
        await Assertions.Expect(page.Locator("#table2 tbody tr[data-pair='mnist 2-3']")).ToBeVisibleAsync();

        // Fig. 4 as an image (drawn by the node), loaded, and downloadable as a PNG by keyboard.
        var fig = page.Locator("#figures figure[data-name='fig4-mnist-2-3.png']");
        await Assertions.Expect(fig.Locator("img")).ToBeVisibleAsync(new() { Timeout = 15000 });
        await WaitAsync(page, "() => { const i = document.querySelector(\"#figures figure[data-name='fig4-mnist-2-3.png'] img\"); return i && i.complete && i.naturalWidth === 800; }");
        await f.ShotAsync(page, "15-campaign-report");
        await Assertions.Expect(page.Locator("#runtime")).ToBeHiddenAsync(); // no runtime { } block in its file
        await fig.Locator("button[data-figure]").FocusAsync();
        var download = await page.RunAndWaitForDownloadAsync(() => page.Keyboard.PressAsync("Enter"));
        Assert.Equal("fig4-mnist-2-3.png", download.SuggestedFilename);
        string saved = Path.Combine(f.DataDir, "downloaded-fig4.png");
        await download.SaveAsAsync(saved);
        var bytes = File.ReadAllBytes(saved);
        Assert.True(bytes.Length > 1000, $"the downloaded figure has {bytes.Length} bytes");
        Assert.Equal(PngMagic, bytes[..8]);
        Assert.True(await page.EvaluateAsync<bool>("() => window.notReloaded === true"), "the page was reloaded");
        // The cell links lead to the experiment pages.
        await page.Locator("#cells tbody tr a").First.ClickAsync();
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("completed");
        f.AssertNoScriptErrors(page);
        await page.Context.CloseAsync();

        // A narrow window: the campaign page fits without sideways scrolling of the page itself.
        var narrow = await f.OpenAsync("erin", width: 390, height: 844, fragment: $"#/campaigns/{id}");
        await Assertions.Expect(narrow.Locator("#figures figure img")).ToBeVisibleAsync(new() { Timeout = 15000 });
        await f.ShotAsync(narrow, "16-narrow-campaign");
        Assert.True(await narrow.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth + 1"),
            $"the campaign page is wider than the window: {await narrow.EvaluateAsync<string>(Widest)}");
        f.AssertNoScriptErrors(narrow);
        await narrow.Context.CloseAsync();

        // Bob: not in his list, the page says it is not his, and the API answers 404 everywhere.
        var bobPage = await f.OpenAsync("bob");
        await bobPage.Locator("#nav a[data-page=campaigns]").ClickAsync();
        await Assertions.Expect(bobPage.Locator("#campaigns-count")).ToHaveTextAsync("You have no campaigns yet: `qa campaign run FILE` starts one.");
        await bobPage.GotoAsync(new Uri(f.Node.Api, $"/#/campaigns/{id}").ToString());
        await Assertions.Expect(bobPage.Locator("main h1")).ToHaveTextAsync("Campaign not found");
        await Assertions.Expect(bobPage.Locator("main .banner.error")).ToContainTextAsync("belongs to someone else");
        await f.ShotAsync(bobPage, "17-campaign-not-found");
        f.AssertNoScriptErrors(bobPage);
        await bobPage.Context.CloseAsync();
        using var bob = f.Api("bob");
        foreach (var path in new[] { "", "/report", "/figures/fig4-mnist-2-3.png", "/events" })
            Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"api/v1/campaigns/{id}{path}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.PostAsync($"api/v1/campaigns/{id}/cancel", null)).StatusCode);
    }

    [ChromiumFact]
    public async Task An_admin_cancels_a_users_campaign_from_its_page()
    {
        // Long gibbs cells, one at a time: the campaign is still running when the admin looks.
        await f.AddUserAsync("frank");
        string id = await SubmitCampaignAsync("frank", CampaignSpec("long", "gibbs", "1, 2, 3", "hidden = 32, train-size = 20, steps = 5000, reads = 20, sweeps = 50",
            "runtime { min-size = 10, max-size = 100, points-per-decade = 1, measure-max-size = 100, reads = 5, sweeps = 20, repeats = 1 }"));
        // The admin's list has everyone's campaigns, frank's among them.
        var page = await f.OpenAsync("admin", fragment: "#/campaigns");
        var listed = page.Locator($"#campaigns tr[data-id='{id}']");
        await Assertions.Expect(listed).ToContainTextAsync("frank", new() { Timeout = 10000 });
        await listed.Locator("a").ClickAsync();
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("running", new() { Timeout = 10000 });
        await Assertions.Expect(page.Locator("#cells tbody tr[data-status=running]")).ToHaveCountAsync(1, new() { Timeout = 30000 });
        // The running cell's step moves on the page while the campaign runs.
        var step = page.Locator("#cells tbody tr[data-status=running] [data-field=step]");
        await Assertions.Expect(step).Not.ToHaveTextAsync("–", new() { Timeout = 30000 });
        string first = await step.InnerTextAsync();
        await Assertions.Expect(step).Not.ToHaveTextAsync(first, new() { Timeout = 30000 });
        await f.ShotAsync(page, "18-campaign-admin-running");
        var cancel = page.Locator("#cancel");
        await cancel.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("cancelled", new() { Timeout = 30000 });
        await Assertions.Expect(cancel).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#retry")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#cells tbody tr[data-status=running]")).ToHaveCountAsync(0);
        await f.ShotAsync(page, "19-campaign-cancelled");
        // Fig. 5: the campaign has a runtime block; the study runs on the node when asked, and its figure appears.
        await Assertions.Expect(page.Locator("#runtime-state")).ToContainTextAsync("This campaign has a runtime study (2 sizes from 10 to 100)");
        await page.Locator("#run-runtime").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#runtime-state")).ToContainTextAsync("Running on this node");
        var fig5 = page.Locator("#runtime figure[data-name='fig5.png'] img");
        await Assertions.Expect(fig5).ToBeVisibleAsync(new() { Timeout = 300000 });
        await WaitAsync(page, "() => { const i = document.querySelector(\"#runtime figure[data-name='fig5.png'] img\"); return i && i.complete && i.naturalWidth === 900; }");
        await Assertions.Expect(page.Locator("#runtime")).ToContainTextAsync("on Pegasus P16");
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("#runtime button[data-figure='fig5.png']").ClickAsync());
        string saved = Path.Combine(f.DataDir, "downloaded-fig5.png");
        await download.SaveAsAsync(saved);
        Assert.Equal(PngMagic, File.ReadAllBytes(saved)[..8]);
        await f.ShotAsync(page, "20-campaign-fig5");
        f.AssertNoScriptErrors(page);
        await page.Context.CloseAsync();
        using var frank = f.Api("frank");
        Assert.Equal("cancelled", JsonNode.Parse(await frank.GetStringAsync($"api/v1/campaigns/{id}?cells=false"))!["state"]!.GetValue<string>());
    }
}
