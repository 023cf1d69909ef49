using QaActors.Data;
using QaActors.Learning;
using QaActors.Sampling;

namespace QaActors.Learning.Tests;

/// <summary>Runs only when the variable is "1": for quality checks on the real datasets (fetched with `qa data fetch`).</summary>
public sealed class OptInFactAttribute : FactAttribute
{
    public OptInFactAttribute(string variable)
    {
        if (Environment.GetEnvironmentVariable(variable) != "1") Skip = $"opt-in: set {variable}=1 (needs `qa data fetch`)";
    }
}

/// <summary>
/// The quality targets on real data. Opt-in (QA_REAL_DATA=1) because they need the fetched datasets and
/// take seconds to tens of seconds on a shared machine.
/// </summary>
public class RealDataTests
{
    [OptInFact("QA_REAL_DATA")]
    public void EquivalenceOnFashionMnistPullover_DressReachesThePapersAgreement()
    {
        var task = PairTask.Load(DatasetSpec.FashionMnist, 2, 3, DataSize.All, DataSize.All, 1);
        var r = Equivalence.Run(task, new EquivalenceConfig());
        var f = r.Final;
        Assert.Equal(250, f.Step);
        Assert.True(f.MlpTestAccuracy >= 0.96, $"MLP test accuracy {f.MlpTestAccuracy}");
        Assert.True(f.EbmTestAccuracy >= 0.96, $"EBM test accuracy {f.EbmTestAccuracy}");
        Assert.True(f.SymKl <= 0.01, $"sym_kl {f.SymKl}");
    }

    [OptInFact("QA_REAL_DATA")]
    public void Sec52SettingsOnMnist0_1LearnWithBackpropAndGibbs()
    {
        var task = PairTask.Load(DatasetSpec.Mnist, 0, 1, DataSize.Of(20), DataSize.All, 1);
        foreach (var (method, sampler) in new (TrainingMethod, ISampler?)[] { (TrainingMethod.Backprop, null), (TrainingMethod.Gibbs, new GibbsSampler()) })
        {
            var r = DirectTrainer.Run(new TrainingConfig { Method = method, Seed = 1 }, task, sampler);
            Assert.True(r.Final.TestAccuracy >= 0.95, $"{method}: test accuracy {r.Final.TestAccuracy}");
            Assert.True(r.Success, $"{method}: not a success by the documented rule");
        }
    }
}
