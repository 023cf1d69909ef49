using QaActors.Learning;

namespace QaActors.Learning.Tests;

public class MetricsTests
{
    [Fact]
    public void SymmetrisedKlHasKnownValues()
    {
        Assert.Equal(0, Metrics.SymmetrisedKl(new[] { 0.3, 0.9 }, new[] { 0.3, 0.9 }), 12);
        double kl = 0.5 * Math.Log(0.5 / 0.25) + 0.5 * Math.Log(0.5 / 0.75);
        double lk = 0.25 * Math.Log(0.25 / 0.5) + 0.75 * Math.Log(0.75 / 0.5);
        Assert.Equal(kl + lk, Metrics.SymmetrisedKl(new[] { 0.5 }, new[] { 0.25 }), 12);
        double saturated = Metrics.SymmetrisedKl(new[] { 1.0 }, new[] { 0.0 });
        Assert.True(double.IsFinite(saturated) && saturated > 10);
    }

    [Fact]
    public void StepsTo70AndSuccessFollowTheirDocumentedRules()
    {
        var rising = new[] { (0, 0.5), (1, 0.6), (2, 0.7), (3, 0.75), (4, 0.8), (5, 0.85) };
        Assert.Equal(3, Metrics.StepsTo70(rising));
        Assert.True(Metrics.IsSuccess(rising));
        Assert.Null(Metrics.StepsTo70(new[] { (0, 0.5), (1, 0.7) }));
        // Starts high and stays: no clear rise.
        Assert.False(Metrics.IsSuccess(new[] { (0, 0.72), (1, 0.75), (2, 0.76), (3, 0.78) }));
        // Volatile: touches 0.9 once at the end but the tail average stays below 0.70.
        Assert.False(Metrics.IsSuccess(new[] { (0, 0.5), (1, 0.5), (2, 0.52), (3, 0.5), (4, 0.9) }));
        Assert.False(Metrics.IsSuccess(new[] { (1, 0.9), (2, 0.95) }));
    }

    [Fact]
    public void EvaluateAgreesWithTheReferenceModels()
    {
        var p = Reference.RandomParameters(10, 7, 1, 101, 0.6);
        var set = Reference.RandomSet(50, 10, 1, 102);
        var e = Metrics.Evaluate(p, set);
        Assert.Equal(Reference.MlpLoss(p, set), e.CrossEntropy, 1e-5);
        Assert.Equal(Reference.EbmMeanLogLikelihood(p, set), e.EbmLogLikelihood, 1e-5);
        int ok = 0, ebmOk = 0;
        for (int r = 0; r < set.Count; r++)
        {
            double p1 = Math.Exp(Reference.LogConditional(p, set.Row(r))[1]);
            Assert.Equal(p1, e.EbmProbabilities[r], 1e-5);
            if ((e.MlpProbabilities[r] > 0.5 ? 1 : 0) == set.Y[r]) ok++;
            if ((p1 > 0.5 ? 1 : 0) == set.Y[r]) ebmOk++;
        }
        Assert.Equal(ok / 50.0, e.Accuracy);
        Assert.Equal(ebmOk / 50.0, e.EbmAccuracy);
    }
}
