using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using QaActors.Cli.Client;
using QaActors.Data;
using Spectre.Console;

namespace QaActors.Cli.Commands;

/// <summary>`qa user add|list|revoke`: the node's users (admins only). A new token is printed once and never again.</summary>
public static class UserCommands
{
    public static Command Create()
    {
        var cmd = new Command("user", "Users of a node and their API tokens (admins only).");
        var add = new Command("add", "Add a user and print their token once (store it: the node keeps only its hash).");
        var name = new Argument<string>("name");
        var admin = new Option<bool>("--admin") { Description = "The user may manage users and quotas and see everyone's experiments." };
        var weight = new Option<double>("--weight") { Description = "Fair-share weight of the user's QPU time (0.01-100).", DefaultValueFactory = _ => 1.0 };
        add.Add(name);
        add.Add(admin);
        add.Add(weight);
        Common(add, out var addServer, out var addDir, out var addJson);
        add.SetAction(async (pr, ct) =>
        {
            using var client = Client(pr, addServer, addDir);
            var r = await client.PostAsync("api/v1/users", new JsonObject { ["name"] = pr.GetValue(name), ["admin"] = pr.GetValue(admin), ["weight"] = pr.GetValue(weight) }, ct);
            string token = r["token"]!.GetValue<string>();
            if (pr.GetValue(addJson)) Cli.WriteJson(new JsonObject { ["user"] = pr.GetValue(name), ["token"] = token });
            else
            {
                Console.WriteLine(token);
                Console.Error.WriteLine($"qa: user {pr.GetValue(name)} added; this is the only time the token is shown: give it to them (QA_TOKEN=...)");
            }
            return Cli.ExitOk;
        });
        var list = new Command("list", "Every user: name, admin, weight, token id, created, revoked.");
        Common(list, out var listServer, out var listDir, out var listJson);
        list.SetAction(async (pr, ct) =>
        {
            using var client = Client(pr, listServer, listDir);
            var users = (await client.GetAsync("api/v1/users", ct)).AsArray();
            if (pr.GetValue(listJson)) { Cli.WriteJson(users); return Cli.ExitOk; }
            var t = new Table().AddColumn("user").AddColumn("admin").AddColumn("weight").AddColumn("token id").AddColumn("created").AddColumn("revoked");
            foreach (var u in users.OfType<JsonNode>())
                t.AddRow(Markup.Escape(u["user"]!.ToString()), u["admin"]!.GetValue<bool>() ? "yes" : "no", u["weight"]!.GetValue<double>().ToString("G4", CultureInfo.InvariantCulture),
                    Markup.Escape(u["token_id"]?.ToString() ?? "-"), Markup.Escape(u["created"]?.ToString() ?? "-"), Markup.Escape(u["revoked"]?.ToString() ?? "-"));
            AnsiConsole.Write(t);
            return Cli.ExitOk;
        });
        var revoke = new Command("revoke", "Revoke a user's token (their experiments stay).");
        var revName = new Argument<string>("name");
        revoke.Add(revName);
        Common(revoke, out var revServer, out var revDir, out var revJson);
        revoke.SetAction(async (pr, ct) =>
        {
            using var client = Client(pr, revServer, revDir);
            var u = await client.DeleteAsync($"api/v1/users/{Uri.EscapeDataString(pr.GetValue(revName)!)}", ct);
            if (pr.GetValue(revJson)) Cli.WriteJson(u);
            else Console.WriteLine($"user {pr.GetValue(revName)}: token revoked");
            return Cli.ExitOk;
        });
        cmd.Add(add);
        cmd.Add(list);
        cmd.Add(revoke);
        return cmd;
    }

    private static void Common(Command c, out ServerOptions server, out Option<string?> dataDir, out Option<bool> json)
    {
        server = new ServerOptions();
        server.AddTo(c);
        dataDir = CommonOptions.DataDir();
        c.Add(dataDir);
        json = CommonOptions.Json();
        c.Add(json);
    }

    private static QaClient Client(ParseResult pr, ServerOptions server, Option<string?> dataDir) =>
        server.Resolve(pr, new DataStore(pr.GetValue(dataDir)).Root)
        ?? throw new UsageException("users live on a node: give --server URL (or QA_SERVER) with an admin token, or run this on the data dir of a running `qa node`.");
}
