using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>
/// A `qa sapi-sim` process on 127.0.0.1, as a user starts it, with its endpoint read from the line it prints. Its own
/// accounting (<c>GET _sim/usage</c>) and fault switch (<c>POST _sim/faults</c>) are reached over HTTP with the token,
/// the way a drill would; neither goes through the simulated outage.
/// </summary>
public sealed class SapiSimProcess : IDisposable
{
    public const string Token = "sim-token";
    private readonly Process _process;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly StringBuilder _output = new();

    public string Endpoint { get; }

    private SapiSimProcess(Process process, string endpoint)
    {
        _process = process;
        Endpoint = endpoint;
        _http.DefaultRequestHeaders.Add("X-Auth-Token", Token);
    }

    /// <summary>Starts `qa sapi-sim --port P` with <paramref name="args"/> (P = 0: a free port) and waits until it listens.</summary>
    public static SapiSimProcess Start(int port = 0, params string[] args)
    {
        var p = Process.Start(QaProcess.StartInfo(["sapi-sim", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args]))
            ?? throw new InvalidOperationException("could not start dotnet");
        try
        {
            var stderr = p.StandardError.ReadToEndAsync();
            string? endpoint = null;
            var seen = new StringBuilder();
            var until = DateTime.UtcNow.AddSeconds(90);
            while (endpoint is null && DateTime.UtcNow < until)
            {
                string? line = p.StandardOutput.ReadLine();
                if (line is null) break;
                seen.AppendLine(line);
                var m = Regex.Match(line, @"http://127\.0\.0\.1:\d+/sapi/v2/");
                if (m.Success) endpoint = m.Value;
            }
            if (endpoint is null)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
                throw new InvalidOperationException($"qa sapi-sim printed no endpoint:\n{seen}\n{stderr.Result}");
            }
            var sim = new SapiSimProcess(p, endpoint);
            // Keep reading so that the simulator never blocks on a full pipe.
            _ = Task.Run(async () =>
            {
                string? line;
                while ((line = await p.StandardOutput.ReadLineAsync().ConfigureAwait(false)) != null)
                    lock (sim._output) sim._output.AppendLine(line);
            });
            return sim;
        }
        catch
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.Dispose();
            throw;
        }
    }

    /// <summary>A loopback port nobody listens on right now (for "connection refused", and to start a simulator on later).</summary>
    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>The simulator's charge to the token: total QPU access time (µs) and problems completed.</summary>
    public (double AccessMicros, long Problems) Usage()
    {
        var u = JsonNode.Parse(_http.GetStringAsync(Endpoint + "_sim/usage").GetAwaiter().GetResult())!;
        return ((double)u["qpu_access_time"]!, (long)u["problems_completed"]!);
    }

    /// <summary>Switches faults at runtime: the keys of the sapi-sim.faults block, as JSON (e.g. {"outage": {"mode": "none"}}).</summary>
    public void SetFaults(string json)
    {
        using var body = new StringContent(json, Encoding.UTF8, "application/json");
        using var r = _http.PostAsync(Endpoint + "_sim/faults", body).GetAwaiter().GetResult();
        if (!r.IsSuccessStatusCode)
            throw new InvalidOperationException($"_sim/faults answered {(int)r.StatusCode}: {r.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
    }

    /// <summary>One plain SAPI request (the solver list), for checking that a fault is armed; returns the HTTP status.</summary>
    public HttpStatusCode ListSolversStatus()
    {
        using var r = _http.GetAsync(Endpoint + "solvers/remote/").GetAwaiter().GetResult();
        return r.StatusCode;
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
        _http.Dispose();
    }
}
