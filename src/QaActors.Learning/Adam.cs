using System.Runtime.Intrinsics;
namespace QaActors.Learning;

/// <summary>
/// Adam with PyTorch's semantics (torch.optim.Adam, amsgrad off, no weight decay): m ← m + (1−β1)·(g − m) (= β1·m + (1−β1)·g),
/// v ← β2·v + (1−β2)·g², θ ← θ − (lr / (1−β1^t)) · m / (sqrt(v)/sqrt(1−β2^t) + ε). The gradient is a LOSS
/// gradient: for the EBM's log-likelihood ascent pass its negation (<see cref="StepAscent"/> does that).
/// State (m, v, t) is plain data so a checkpoint restores it exactly.
/// </summary>
public sealed class Adam
{
    public double LearningRate { get; }
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public AdamState State { get; }

    public Adam(MlpParameters shape, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
        : this(new AdamState(shape.ZerosLike(), shape.ZerosLike(), 0), learningRate, beta1, beta2, epsilon) { }

    public Adam(AdamState state, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        if (!(learningRate > 0) || double.IsInfinity(learningRate)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be positive and finite");
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), "Adam's betas must lie in [0, 1)");
        LearningRate = learningRate; Beta1 = beta1; Beta2 = beta2; Epsilon = epsilon;
        State = state;
    }

    /// <summary>One update of <paramref name="p"/> against the loss gradient <paramref name="g"/>.</summary>
    public void Step(MlpParameters p, MlpParameters g) => Update(p, g, 1f);

    /// <summary>One update that INCREASES the objective whose gradient is <paramref name="ascent"/> (fed negated).</summary>
    public void StepAscent(MlpParameters p, MlpParameters ascent) => Update(p, ascent, -1f);

    private void Update(MlpParameters p, MlpParameters g, float sign)
    {
        p.RequireSameShape(g, "gradient");
        p.RequireSameShape(State.M, "Adam state");
        State.T++;
        double bc1 = 1 - Math.Pow(Beta1, State.T);
        double bc2 = 1 - Math.Pow(Beta2, State.T);
        float stepSize = (float)(LearningRate / bc1);
        float sqrtBc2 = (float)Math.Sqrt(bc2);
        float b1 = (float)Beta1, b2 = (float)Beta2, eps = (float)Epsilon;
        float[][] ps = p.Tensors, gs = g.Tensors, ms = State.M.Tensors, vs = State.V.Tensors;
        for (int t = 0; t < ps.Length; t++)
        {
            float[] pt = ps[t], gt = gs[t], mt = ms[t], vt = vs[t];
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                // Same arithmetic as the scalar loop below, element by element, so results do not depend on the path.
                for (; i <= pt.Length - 16; i += 16)
                {
                    var gi = Vector512.Create(sign) * Vector512.Create(gt, i);
                    var m0 = Vector512.Create(mt, i);
                    var mi = m0 + Vector512.Create(1 - b1) * (gi - m0);
                    var vi = Vector512.Create(b2) * Vector512.Create(vt, i) + Vector512.Create(1 - b2) * gi * gi;
                    mi.CopyTo(mt.AsSpan(i));
                    vi.CopyTo(vt.AsSpan(i));
                    var denom = Vector512.Sqrt(vi) / Vector512.Create(sqrtBc2) + Vector512.Create(eps);
                    (Vector512.Create(pt, i) - Vector512.Create(stepSize) * (mi / denom)).CopyTo(pt.AsSpan(i));
                }
            }
            for (; i < pt.Length; i++)
            {
                float gi = sign * gt[i];
                // torch's single-tensor Adam: m.lerp_(g, 1−β1) = m + (1−β1)(g − m); v.mul_(β2).addcmul_(g, g, 1−β2).
                mt[i] = mt[i] + (1 - b1) * (gi - mt[i]);
                vt[i] = b2 * vt[i] + (1 - b2) * gi * gi;
                float denom = MathF.Sqrt(vt[i]) / sqrtBc2 + eps;
                pt[i] -= stepSize * (mt[i] / denom);
            }
        }
    }
}

/// <summary>Adam's state: first and second moments (parameter-shaped) and the step count t.</summary>
public sealed class AdamState(MlpParameters m, MlpParameters v, long t)
{
    public MlpParameters M { get; } = m;
    public MlpParameters V { get; } = v;
    public long T { get; set; } = t;

    public AdamState Clone() => new(M.Clone(), V.Clone(), T);
}
