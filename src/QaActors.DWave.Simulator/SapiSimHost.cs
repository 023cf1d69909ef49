namespace QaActors.DWave.Simulator;

/// <summary>Flags of <c>qa sapi-sim</c>; null leaves the configuration's value.</summary>
public sealed record SapiSimFlags
{
    /// <summary>A HOCON file layered over the shipped hocon/sapi-sim.conf (its <c>faults</c> block is applied at start).</summary>
    public string? ConfigFile { get; init; }
    public int? Port { get; init; }
    public string? Token { get; init; }
    public double? BetaHw { get; init; }
    public ulong? Seed { get; init; }
    /// <summary>Extra HOCON applied last, e.g. "sapi-sim.faults.slow-answers = 2s" from repeated --set flags.</summary>
    public IReadOnlyList<string> Settings { get; init; } = [];
}

/// <summary>
/// The whole of <c>qa sapi-sim</c> for the CLI: build options from flags and HOCON, start, print the endpoint, apply the
/// configured faults, run until cancelled (Ctrl+C, or SIGTERM through the CLI), print each token's charged access time.
/// </summary>
public static class SapiSimHost
{
    public static SapiSimulatorOptions BuildOptions(SapiSimFlags flags, Action<string>? log = null)
    {
        string? text = null;
        if (flags.ConfigFile is { } f)
        {
            if (!File.Exists(f)) throw new FileNotFoundException($"sapi-sim configuration '{f}' does not exist; pass an existing HOCON file or omit --config", f);
            text = File.ReadAllText(f);
        }
        if (flags.Settings.Count > 0) text = (text ?? "") + "\n" + string.Join("\n", flags.Settings);
        var o = SapiSimConfig.LoadDefault(text, log);
        if (flags.Port is { } p) o = o with { Port = p };
        if (flags.Token is { } t) o = o with { Tokens = [t] };
        if (flags.BetaHw is { } b) o = o with { BetaHw = b };
        if (flags.Seed is { } s) o = o with { Seed = s };
        o.Validate();
        return o;
    }

    public static async Task<int> RunAsync(SapiSimFlags flags, TextWriter output, CancellationToken ct)
    {
        var options = BuildOptions(flags, m => output.WriteLine(m));
        await using var sim = await SapiSimulator.StartAsync(options, ct).ConfigureAwait(false);
        string? text = flags.ConfigFile is null ? null : await File.ReadAllTextAsync(flags.ConfigFile, ct).ConfigureAwait(false);
        if (flags.Settings.Count > 0) text = (text ?? "") + "\n" + string.Join("\n", flags.Settings);
        if (text is not null) SapiSimConfig.ApplyFaults(sim.Faults, text);
        output.WriteLine($"sapi-sim endpoint: {sim.SapiEndpoint}");
        foreach (var s in sim.Solvers)
            output.WriteLine($"  solver {s.Name}: {s.Graph.TopologyType} [{string.Join(",", s.Graph.Shape)}], {s.Graph.Qubits.Length} qubits, {s.Graph.Couplers.Length} couplers");
        output.WriteLine($"  beta_hw {options.BetaHw}, control errors sigma_h {options.SigmaH}, sigma_j {options.SigmaJ}; {options.Tokens.Count} token(s) accepted");
        output.WriteLine("  use: DWAVE_API_ENDPOINT=" + sim.SapiEndpoint + " DWAVE_API_TOKEN=<one of the configured tokens>");
        output.WriteLine($"  or:  DWAVE_METADATA_API_ENDPOINT={sim.MetadataEndpoint} DWAVE_API_REGION={SapiSimulator.RegionCode} (a Metadata API listing this endpoint)");
        await sim.WaitUntilCancelledAsync(ct).ConfigureAwait(false);
        for (int i = 0; i < options.Tokens.Count; i++)
        {
            var u = sim.Usage(options.Tokens[i]);
            output.WriteLine($"token #{i + 1}: {u.ProblemsCompleted} problems, qpu_access_time {u.QpuAccessTimeMicroseconds:F0} µs");
        }
        return 0;
    }
}
