using QaActors.DWave.Structured;
using QaActors.Sampling;

namespace QaActors.DWave.Composites;

/// <summary>
/// Ocean's EmbeddingComposite: samples a logical problem on a structured sampler by minor-embedding it (the embedding of
/// each structure found once, see <see cref="EmbeddingCache"/>) and unembedding the answer. One problem per call.
/// </summary>
public sealed class EmbeddingComposite(IStructuredSampler child, EmbeddingCache cache, EmbeddingSettings? settings = null) : ISampler
{
    private readonly EmbeddingSettings _settings = settings ?? new EmbeddingSettings();

    public string Name => "qpu";
    public IStructuredSampler Child => child;

    public async Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
    {
        request.Validate();
        var embedding = await cache.EmbeddingAsync(problem).ConfigureAwait(false);
        var r = await EmbeddedCall.RunAsync(child, [problem], [embedding], request, _settings, cancellationToken).ConfigureAwait(false);
        return r[0];
    }
}
