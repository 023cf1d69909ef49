using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace QaActors.Cli.Client;

/// <summary>A server error that is the user's to fix (bad token, unknown experiment, invalid submission): exit 2.</summary>
public sealed class ServerRefusedException(string message) : Exception(message);

/// <summary>
/// The CLI's client of a node's HTTP API (docs/architecture.md, "The node and its API"). The token goes only into the
/// Authorization header; it is never printed, logged or written.
/// </summary>
public sealed class QaClient : IDisposable
{
    private readonly HttpClient _http;

    public Uri Server { get; }

    public QaClient(Uri server, string token)
    {
        if (token.Any(c => c < 0x21 || c > 0x7e))
            throw new ServerRefusedException("the token (--token / QA_TOKEN) holds spaces, control or non-ASCII characters; copy it again exactly as `qa user add` printed it");
        Server = server;
        _http = new HttpClient { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public void Dispose() => _http.Dispose();

    public async Task<JsonNode> GetAsync(string path, CancellationToken ct) => await Send(HttpMethod.Get, path, null, ct);

    public async Task<JsonNode> PostAsync(string path, JsonNode? body, CancellationToken ct, string? idempotencyKey = null) =>
        await Send(HttpMethod.Post, path, body, ct, idempotencyKey);

    public async Task<JsonNode> PutAsync(string path, JsonNode body, CancellationToken ct) => await Send(HttpMethod.Put, path, body, ct);

    public async Task<JsonNode> DeleteAsync(string path, CancellationToken ct) => await Send(HttpMethod.Delete, path, null, ct);

    /// <summary>Downloads an artefact into a file (written whole, then moved into place).</summary>
    public async Task<bool> DownloadAsync(string path, string file, CancellationToken ct)
    {
        using var res = await Call(() => new HttpRequestMessage(HttpMethod.Get, path), ct);
        if (res.StatusCode == HttpStatusCode.NotFound) return false;
        await Check(res, ct);
        string tmp = file + ".part";
        await using (var fs = File.Create(tmp)) await res.Content.CopyToAsync(fs, ct);
        File.Move(tmp, file, overwrite: true);
        return true;
    }

    /// <summary>The live events of an experiment (state, step, end), until the run ends or the caller stops.</summary>
    public async IAsyncEnumerable<(string Type, JsonNode Data)> EventsAsync(string id, [EnumeratorCancellation] CancellationToken ct)
    {
        using var res = await Call(() => new HttpRequestMessage(HttpMethod.Get, $"api/v1/experiments/{Uri.EscapeDataString(id)}/events"), ct, streaming: true);
        await Check(res, ct);
        await using var stream = await res.Content.ReadAsStreamAsync(ct);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(ct))
            yield return (item.EventType, JsonNode.Parse(item.Data) ?? new JsonObject());
    }

    private async Task<JsonNode> Send(HttpMethod method, string path, JsonNode? body, CancellationToken ct, string? idempotencyKey = null)
    {
        using var res = await Call(() =>
        {
            var req = new HttpRequestMessage(method, path);
            if (body is not null) req.Content = JsonContent.Create(body);
            if (idempotencyKey is not null) req.Headers.Add("Idempotency-Key", idempotencyKey);
            return req;
        }, ct);
        await Check(res, ct);
        string text = await res.Content.ReadAsStringAsync(ct);
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text) ?? new JsonObject();
    }

    private async Task<HttpResponseMessage> Call(Func<HttpRequestMessage> make, CancellationToken ct, bool streaming = false)
    {
        try
        {
            using var req = make();
            return await _http.SendAsync(req, streaming ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new HttpRequestException($"cannot reach the QaActors node at {Server} ({e.Message}); is `qa node` running there? (--server / QA_SERVER)", e);
        }
    }

    private async Task Check(HttpResponseMessage res, CancellationToken ct)
    {
        if (res.IsSuccessStatusCode) return;
        string detail = "";
        try
        {
            var err = JsonNode.Parse(await res.Content.ReadAsStringAsync(ct));
            detail = err?["error"]?.GetValue<string>() ?? "";
        }
        catch (JsonException) { detail = ""; }
        switch (res.StatusCode)
        {
            case HttpStatusCode.Unauthorized:
                throw new ServerRefusedException($"the node at {Server} refused the token (--token / QA_TOKEN): it is missing, revoked or mistyped; an admin makes one with `qa user add NAME`");
            case HttpStatusCode.Forbidden:
                throw new ServerRefusedException($"this needs an admin token; the node at {Server} refused it for this user");
            case HttpStatusCode.NotFound:
            case HttpStatusCode.BadRequest:
            case HttpStatusCode.Conflict:
            case HttpStatusCode.RequestEntityTooLarge:
                throw new ServerRefusedException(detail.Length > 0 ? detail : $"the node answered {(int)res.StatusCode} {res.ReasonPhrase}");
            case HttpStatusCode.TooManyRequests:
                throw new ServerRefusedException($"the node at {Server} is refusing this client for a while after repeated bad tokens; wait and retry with the right token");
            default:
                throw new HttpRequestException($"the node at {Server} answered {(int)res.StatusCode} {res.ReasonPhrase}{(detail.Length > 0 ? ": " + detail : "")}");
        }
    }
}
