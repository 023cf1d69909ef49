using QaActors.Data;

namespace QaActors.Learning;

/// <summary>Settings of the equivalence experiment (paper Sec. 5.1): defaults are the paper's.</summary>
public sealed record EquivalenceConfig
{
    public int Steps { get; init; } = 250;
    public int Batch { get; init; } = 1000;
    public double LearningRate { get; init; } = 0.001;
    public int EvalEvery { get; init; } = 10;
    public int Hidden { get; init; } = 548;
    public ulong Seed { get; init; } = 1;

    public void Validate()
    {
        if (Steps < 0) throw new ArgumentException($"steps = {Steps}: must be zero or more");
        if (Batch < 1) throw new ArgumentException($"batch = {Batch}: must be at least 1");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException($"lr = {LearningRate}: must be positive and finite");
        if (EvalEvery < 1) throw new ArgumentException($"eval-every = {EvalEvery}: must be at least 1");
        if (Hidden < 1) throw new ArgumentException($"hidden = {Hidden}: must be at least 1");
    }
}

/// <summary>
/// One evaluation of the equivalence experiment after <see cref="Step"/> updates. θ_mlp are the backprop-trained
/// weights, θ_ebm the EBM's (exact negative phase). Accuracies are on the test set:
/// MlpTestAccuracy = MLP(θ_mlp), EbmTestAccuracy = EBM(θ_ebm), MlpWithEbmWeightsAccuracy = MLP(θ_ebm),
/// EbmWithMlpWeightsAccuracy = EBM(θ_mlp). <see cref="SymKl"/> follows the paper's Sec. 5.1 and Appendix C.1: the
/// symmetrised KL (nats, test-set mean) between the sigmoid output of the MLP with backprop weights and that of
/// the MLP that inherited the EBM's weights, i.e. MLP(θ_mlp) vs MLP(θ_ebm): it measures whether the two TRAININGS
/// reach the same function. <see cref="SymKlEbm"/> is the same between EBM(θ_ebm) and EBM(θ_mlp), for completeness.
/// Losses: MLP cross-entropies and EBM mean log P(y|x) on the test set for both weight sets; the train figures are
/// the batch objectives before the update of that step (NaN at step 0).
/// </summary>
public sealed record EquivalencePoint(
    int Step,
    double MlpTrainLoss,
    double EbmTrainLogLikelihood,
    double MlpTestAccuracy,
    double EbmTestAccuracy,
    double MlpWithEbmWeightsAccuracy,
    double EbmWithMlpWeightsAccuracy,
    double SymKl,
    double SymKlEbm,
    double MlpTestCrossEntropy,
    double MlpWithEbmWeightsCrossEntropy,
    double EbmTestLogLikelihood,
    double EbmWithMlpWeightsLogLikelihood);

public sealed record EquivalenceResult(IReadOnlyList<EquivalencePoint> History, EquivalencePoint Final, MlpParameters MlpParameters, MlpParameters EbmParameters);

/// <summary>
/// The paper's Sec. 5.1: the MLP trained by backprop (MLP init) and the EBM trained with the exact negative phase
/// (EBM init, N(0, 0.01²)) side by side with Adam on the SAME batches (one <see cref="BatchSchedule"/>), each
/// evaluated with its own and with the other's weights.
/// </summary>
public static class Equivalence
{
    /// <summary>Runs on a full class-pair task (paper: all images of the pair, ~12k train and ~2k test).</summary>
    public static EquivalenceResult Run(PairTask task, EquivalenceConfig config,
        Action<EquivalencePoint>? onEval = null, CancellationToken cancellationToken = default) =>
        Run(task.Train, task.Test, config, onEval, cancellationToken);

    public static EquivalenceResult Run(LabeledSet train, LabeledSet test, EquivalenceConfig config,
        Action<EquivalencePoint>? onEval = null, CancellationToken cancellationToken = default)
    {
        config.Validate();
        if (train.Features != test.Features) throw new ArgumentException($"train has {train.Features} features, test {test.Features}; both must come from the same dataset");
        var mlp = MlpParameters.InitMlp(train.Features, config.Hidden, 1, config.Seed);
        var ebm = MlpParameters.InitEbm(train.Features, config.Hidden, 1, config.Seed);
        Numerics.CheckSet(mlp, train, "training set");
        Numerics.CheckSet(mlp, test, "test set");
        var adamMlp = new Adam(mlp, config.LearningRate);
        var adamEbm = new Adam(ebm, config.LearningRate);
        var gMlp = mlp.ZerosLike();
        var gEbm = ebm.ZerosLike();
        var history = new List<EquivalencePoint>();
        var xb = new float[config.Batch * train.Features];
        var yb = new byte[config.Batch];
        void Eval(int step, double mlpLoss, double ebmLl)
        {
            var em = Metrics.Evaluate(mlp, test);
            var ee = Metrics.Evaluate(ebm, test);
            var point = new EquivalencePoint(step, mlpLoss, ebmLl,
                em.Accuracy, ee.EbmAccuracy, ee.Accuracy, em.EbmAccuracy,
                Metrics.SymmetrisedKl(em.MlpProbabilities, ee.MlpProbabilities),
                Metrics.SymmetrisedKl(ee.EbmProbabilities, em.EbmProbabilities),
                em.CrossEntropy, ee.CrossEntropy, ee.EbmLogLikelihood, em.EbmLogLikelihood);
            history.Add(point);
            onEval?.Invoke(point);
        }
        Eval(0, double.NaN, double.NaN);
        for (int step = 0; step < config.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var idx = BatchSchedule.Indices(config.Seed, step, train.Count, config.Batch);
            // Gathered into reused buffers: a fresh 3 MB batch per step costs as much as a GEMM in page faults.
            for (int r = 0; r < idx.Length; r++)
            {
                train.Row(idx[r]).CopyTo(xb.AsSpan(r * train.Features, train.Features));
                yb[r] = train.Y[idx[r]];
            }
            double loss = Mlp.Gradient(mlp, xb, yb, config.Batch, gMlp);
            adamMlp.Step(mlp, gMlp);
            double ll = Ebm.ExactGradient(ebm, xb, yb, config.Batch, gEbm);
            adamEbm.StepAscent(ebm, gEbm);
            int done = step + 1;
            if (done % config.EvalEvery == 0 || done == config.Steps) Eval(done, loss, ll);
        }
        return new EquivalenceResult(history, history[^1], mlp, ebm);
    }
}
