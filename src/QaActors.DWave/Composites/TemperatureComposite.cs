using QaActors.DWave.Temperature;
using QaActors.Sampling;

namespace QaActors.DWave.Composites;

/// <summary>
/// The QPU's temperature: a fixed factor T (the paper's T_eff = 16), or <see cref="Auto"/>, where T follows the
/// hardware β estimated from the samples (starting at <see cref="TEff"/>).
/// </summary>
public sealed record QpuTemperature(double TEff, bool Auto = false)
{
    /// <summary>The paper's setting for MNIST and Fashion-MNIST (Sec. 5.2).</summary>
    public static readonly QpuTemperature Paper = new(16);

    public void Validate()
    {
        if (!(TEff > 0) || !double.IsFinite(TEff))
            throw new ArgumentOutOfRangeException(nameof(TEff), TEff, "the QPU temperature factor T (t-eff) must be a positive finite number (paper: 16)");
    }
}

/// <summary>
/// The one place where the QPU's temperature is applied (docs/math.md, "Temperature"). Problems arrive at the model's
/// own temperature, as every sampler gets them; a QPU samples the programmed problem at its own β_hw, which nobody
/// sets, so the problem is multiplied by β/T before it goes down (β is the request's, 1 for the model itself): with
/// T ≈ β_hw the model is sampled at β. Under <see cref="QpuTemperature.Auto"/>, T is the running mean of the β_hw
/// estimates (maximum pseudo-likelihood on the programmed problem) after every call. Energies come back on the
/// problem as it was handed in. Info per result: problem_scale, t_eff, beta_hardware_estimate (1/energy of the
/// programmed problem) and beta_model_estimate (the β at which the model itself was effectively sampled, target β).
/// </summary>
public sealed class TemperatureComposite : IBatchSampler
{
    private readonly IBatchSampler _child;
    private readonly object _gate = new();
    private readonly double _smoothing;
    private double _t;
    private double? _betaMean;

    public TemperatureComposite(IBatchSampler child, QpuTemperature temperature, double autoSmoothing = 0.3)
    {
        temperature.Validate();
        if (autoSmoothing is not (> 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(autoSmoothing), autoSmoothing, "smoothing must be in (0, 1]");
        _child = child;
        Temperature = temperature;
        _smoothing = autoSmoothing;
        _t = temperature.TEff;
    }

    public string Name => _child.Name;
    public QpuTemperature Temperature { get; }
    public IBatchSampler Child => _child;

    /// <summary>The factor T applied now (fixed, or moving under auto).</summary>
    public double CurrentT { get { lock (_gate) return _t; } }

    /// <summary>Running mean of the β_hw estimates (null before the first).</summary>
    public double? RunningBetaEstimate { get { lock (_gate) return _betaMean; } }

    public async Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default) =>
        (await SampleManyAsync([problem], [request], cancellationToken).ConfigureAwait(false))[0];

    public async Task<IReadOnlyList<SampleSet>> SampleManyAsync(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests, CancellationToken cancellationToken = default)
    {
        if (requests.Count != problems.Count) throw new ArgumentException($"{problems.Count} problems but {requests.Count} requests", nameof(requests));
        if (problems.Count == 0) return [];
        foreach (var r in requests) r.Validate();
        double beta = requests[0].Beta;
        if (requests.Any(r => r.Beta != beta)) throw new ArgumentException("every request of one call must ask for the same beta", nameof(requests));
        double t = CurrentT;
        double scale = beta / t;
        var programmed = problems.Select(p => p.Scale(scale)).ToArray();
        var sets = await _child.SampleManyAsync(programmed, requests, cancellationToken).ConfigureAwait(false);
        var results = new SampleSet[sets.Count];
        for (int c = 0; c < sets.Count; c++)
        {
            var s = sets[c];
            var info = s.Info.WithProperty("problem_scale", scale).WithProperty("t_eff", t);
            var est = BetaEstimator.MaximumPseudoLikelihood(programmed[c].ToSpin(), s.ChangeVartype(Vartype.Spin));
            if (est.IsUnbounded) info = info.WithNote("beta_hardware_estimate", "unbounded (every read is a local minimum)");
            else
            {
                info = info.WithProperty("beta_hardware_estimate", est.Beta).WithProperty("beta_model_estimate", est.Beta * scale);
                Observe(est.Beta);
            }
            results[c] = SampleSet.FromSamples(problems[c], s.Samples.ToArray(), info, s.NumOccurrences.ToArray());
        }
        return results;
    }

    private void Observe(double betaHw)
    {
        if (!Temperature.Auto || !double.IsFinite(betaHw) || !(betaHw > 0)) return;
        lock (_gate)
        {
            _betaMean = _betaMean is { } m ? (1 - _smoothing) * m + _smoothing * betaHw : betaHw;
            _t = _betaMean.Value;
        }
    }
}
