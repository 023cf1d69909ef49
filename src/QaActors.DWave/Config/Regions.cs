using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace QaActors.DWave.Config;

/// <summary>A Leap region: its code and the SAPI endpoint that serves it (dwave-cloud-client api/models.py: Region).</summary>
public sealed record SapiRegion(string Code, string Name, string Endpoint);

/// <summary>
/// Region to SAPI endpoint, as Ocean resolves it (dwave-cloud-client <c>regions.py: resolve_endpoints</c>): the
/// Metadata API's region list (<c>GET {metadata_api_endpoint}regions/</c>, media type
/// <c>application/vnd.dwave.metadata.regions+json</c>), and when that cannot be reached, the regions known when
/// this client was written. An unknown region is an error naming the known ones, never a silent default.
/// </summary>
public static class SapiRegions
{
    public const string MediaType = "application/vnd.dwave.metadata.regions+json";

    /// <summary>The regions the Metadata API listed in 2026 (dwave-cloud-client regions.py docstring).</summary>
    public static readonly IReadOnlyList<SapiRegion> BuiltIn =
    [
        new("na-west-1", "North America (West)", "https://na-west-1.cloud.dwavesys.com/sapi/v2/"),
        new("eu-central-1", "Europe", "https://eu-central-1.cloud.dwavesys.com/sapi/v2/"),
        new("na-east-1", "North America (East)", "https://na-east-1.cloud.dwavesys.com/sapi/v2/"),
    ];

    // Ocean caches the list for days on disk; one fetch per metadata endpoint and process is enough here.
    private static readonly ConcurrentDictionary<string, Task<IReadOnlyList<SapiRegion>>> Cache = new(StringComparer.Ordinal);

    /// <summary>The region's endpoint from <paramref name="regions"/>, or a configuration error naming the known regions.</summary>
    public static Uri Find(IReadOnlyList<SapiRegion> regions, string region, string source, string origin)
    {
        var r = regions.FirstOrDefault(x => string.Equals(x.Code, region, StringComparison.OrdinalIgnoreCase))
            ?? throw new DWaveConfigException($"region '{region}' ({origin}) is unknown to {source}; use one of: {string.Join(", ", regions.Select(x => x.Code))}");
        return Uri.TryCreate(r.Endpoint.EndsWith('/') ? r.Endpoint : r.Endpoint + "/", UriKind.Absolute, out var u) && u.Scheme is "https" or "http"
            ? u : throw new DWaveConfigException($"{source} gives region '{region}' the endpoint '{r.Endpoint}', which is not an absolute http(s) URL");
    }

    /// <summary>Fetches the region list (cached per endpoint); failures are not cached, so a later call may succeed.</summary>
    public static async Task<IReadOnlyList<SapiRegion>> FetchAsync(Uri metadataEndpoint, HttpMessageHandler? handler, TimeSpan timeout, CancellationToken ct)
    {
        string key = metadataEndpoint.AbsoluteUri;
        var task = Cache.GetOrAdd(key, _ => FetchCoreAsync(metadataEndpoint, handler, timeout));
        try { return await task.WaitAsync(ct).ConfigureAwait(false); }
        catch when (task.IsFaulted)
        {
            Cache.TryRemove(KeyValuePair.Create(key, task));
            throw;
        }
    }

    /// <summary>For tests: forget fetched lists.</summary>
    public static void ClearCache() => Cache.Clear();

    private static async Task<IReadOnlyList<SapiRegion>> FetchCoreAsync(Uri metadataEndpoint, HttpMessageHandler? handler, TimeSpan timeout)
    {
        using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.Timeout = timeout;
        using var req = new HttpRequestMessage(HttpMethod.Get, new Uri(metadataEndpoint, "regions/"));
        req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaType));
        using var resp = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        if (resp.StatusCode != HttpStatusCode.OK) throw new HttpRequestException($"HTTP {(int)resp.StatusCode}");
        if (!string.Equals(resp.Content.Headers.ContentType?.MediaType, MediaType, StringComparison.OrdinalIgnoreCase))
            throw new HttpRequestException($"Content-Type {resp.Content.Headers.ContentType?.MediaType ?? "(none)"}, expected {MediaType}");
        string text = await BoundedBody.ReadStringAsync(resp.Content, 1 << 20, "GET regions/", CancellationToken.None).ConfigureAwait(false);
        var list = new List<SapiRegion>();
        using var doc = JsonDocument.Parse(text);
        foreach (var e in doc.RootElement.EnumerateArray())
            list.Add(new SapiRegion(e.GetProperty("code").GetString()!, e.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "", e.GetProperty("endpoint").GetString()!));
        if (list.Count == 0) throw new HttpRequestException("the Metadata API listed no regions");
        return list;
    }
}

/// <summary>Reads response bodies with a size cap, so that a huge or endless body fails early with bounded memory.</summary>
public static class BoundedBody
{
    public sealed class TooLargeException(string message) : IOException(message);

    public static async Task<string> ReadStringAsync(HttpContent content, long maxBytes, string what, CancellationToken ct)
    {
        if (content.Headers.ContentLength is long declared && declared > maxBytes)
            throw new TooLargeException($"{what}: the response declares {declared} bytes, more than the {maxBytes} this client accepts");
        await using var s = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        while (true)
        {
            int n = await s.ReadAsync(chunk, ct).ConfigureAwait(false);
            if (n == 0) break;
            if (buffer.Length + n > maxBytes)
                throw new TooLargeException($"{what}: the response is larger than the {maxBytes} bytes this client accepts");
            buffer.Write(chunk, 0, n);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
