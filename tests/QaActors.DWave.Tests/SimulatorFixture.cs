using QaActors.DWave.Config;
using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;

namespace QaActors.DWave.Tests;

/// <summary>Starts a simulator on 127.0.0.1 with port 0 and two small solvers, and builds clients against it.</summary>
internal sealed class SimulatorHarness : IAsyncDisposable
{
    public const string Token = "DEV-simtoken-0123456789abcdef";
    public const string Solver = "Sim_Kings";
    public const string Solver2 = "Sim_Kings2";
    public SapiSimulator Sim { get; }
        public List<string> ClientLog { get; } = new();

    private SimulatorHarness(SapiSimulator sim) { Sim = sim; }

    public static async Task<SimulatorHarness> StartAsync(double sigmaH = 0, double sigmaJ = 0, double betaHw = 16, int sweeps = 200)
    {
        var sampler = new HardwareAnnealer(sweeps);
        var sim = await SapiSimulator.StartAsync(new SapiSimulatorOptions
        {
            Tokens = [Token],
            Solvers =
            [
                SimulatedSolverSpec.AdvantageLike(Solver, TestGraphs.Kings(4, 4, first: 30)),
                SimulatedSolverSpec.Advantage2Like(Solver2, TestGraphs.Kings(3, 3)),
            ],
            Sampler = sampler,
            SigmaH = sigmaH,
            SigmaJ = sigmaJ,
            BetaHw = betaHw,
        });
        return new SimulatorHarness(sim);
    }

    public SapiClient Client(string token = Token, SapiRetryPolicy? retry = null, bool compress = true, bool retrySubmitOn429 = true) =>
        new(new SapiClientOptions
        {
            Endpoint = Sim.SapiEndpoint,
            Token = new SecretToken(token),
            RequestTimeout = TimeSpan.FromSeconds(10),
            Retry = retry ?? Fast,
            CompressRequests = compress,
            RetrySubmitOnRateLimit = retrySubmitOn429,
            JitterSeed = 1,
            Log = m => { lock (ClientLog) ClientLog.Add(m); },
        });

    public static SapiRetryPolicy Fast => new()
    {
        MaxAttempts = 6,
        BaseDelay = TimeSpan.FromMilliseconds(20),
        MaxDelay = TimeSpan.FromMilliseconds(200),
        MaxElapsed = TimeSpan.FromSeconds(5),
        MaxRetryAfter = TimeSpan.FromSeconds(3),
    };

    public int Retries(string what) { lock (ClientLog) return ClientLog.Count(l => l.Contains("retrying") && l.Contains(what)); }

    public ValueTask DisposeAsync() => Sim.DisposeAsync();
}
