using System.Text;
using System.Text.Json;

namespace QaActors.Learning;

/// <summary>
/// Metrics recorded after <see cref="Step"/> updates (step 0: the untrained model). TrainLoss is the MLP's mean
/// binary cross-entropy on the batch of that step, measured before the update, for every method (the deployed
/// model is the MLP, so curves compare across methods); at step 0 it is the mean over the whole training set.
/// Test metrics are on the test set after the update: MLP accuracy and cross-entropy, EBM accuracy and mean exact
/// log P(y|x).
/// </summary>
public sealed record StepMetrics(int Step, double TrainLoss, double TestAccuracy, double EbmTestAccuracy, double CrossEntropy, double EbmLogLikelihood);

/// <summary>
/// Everything a training run needs to continue: configuration, parameters, Adam state, updates done and the
/// metrics history. <see cref="ToBytes"/>/<see cref="FromBytes"/> round-trip it bit-exactly (a checkpoint): all
/// randomness derives from (seed, step, example, purpose), so no generator state needs saving.
/// </summary>
public sealed class TrainerState
{
    /// <summary>Format version of <see cref="ToBytes"/>; readers reject others with a clear message.</summary>
    public const int CurrentVersion = 1;
    private static ReadOnlySpan<byte> Magic => "QATS"u8;

    public int Version => CurrentVersion;
    public TrainingConfig Config { get; }
    public MlpParameters Parameters { get; }
    public AdamState Adam { get; }
    /// <summary>Updates applied so far (the next step's 0-based index).</summary>
    public int Step { get; set; }
    public List<StepMetrics> History { get; }

    public TrainerState(TrainingConfig config, MlpParameters parameters, AdamState adam, int step, List<StepMetrics> history)
    {
        parameters.RequireSameShape(adam.M, "Adam first moment");
        parameters.RequireSameShape(adam.V, "Adam second moment");
        Config = config;
        Parameters = parameters;
        Adam = adam;
        Step = step;
        History = history;
    }

    /// <summary>A fresh state: initial parameters from the config's seed, zero Adam moments, no history.</summary>
    public static TrainerState Create(TrainingConfig config, int inputs)
    {
        config.Validate();
        var p = config.InitialParameters(inputs);
        return new TrainerState(config, p, new AdamState(p.ZerosLike(), p.ZerosLike(), 0), 0, new List<StepMetrics>());
    }

    public TrainerState Clone() => new(Config, Parameters.Clone(), Adam.Clone(), Step, new List<StepMetrics>(History));

    public byte[] ToBytes()
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(CurrentVersion);
            var cfg = JsonSerializer.SerializeToUtf8Bytes(Config);
            w.Write(cfg.Length);
            w.Write(cfg);
            w.Write(Parameters.Inputs);
            w.Write(Parameters.Hidden);
            w.Write(Parameters.Outputs);
            w.Write(Step);
            w.Write(Adam.T);
            foreach (var set in new[] { Parameters, Adam.M, Adam.V })
                foreach (var t in set.Tensors) w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.AsSpan()));
            w.Write(History.Count);
            foreach (var h in History)
            {
                w.Write(h.Step);
                w.Write(h.TrainLoss);
                w.Write(h.TestAccuracy);
                w.Write(h.EbmTestAccuracy);
                w.Write(h.CrossEntropy);
                w.Write(h.EbmLogLikelihood);
            }
        }
        return ms.ToArray();
    }

    public static TrainerState FromBytes(byte[] bytes)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
            if (!r.ReadBytes(4).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("not a QaActors trainer checkpoint (the first bytes are not 'QATS')");
            int version = r.ReadInt32();
            if (version != CurrentVersion) throw new InvalidDataException($"checkpoint format version {version} is not supported (this build reads version {CurrentVersion}); resume it with the build that wrote it");
            int cfgLen = r.ReadInt32();
            if (cfgLen < 0 || cfgLen > bytes.Length) throw new InvalidDataException("checkpoint configuration length is corrupt");
            var config = JsonSerializer.Deserialize<TrainingConfig>(r.ReadBytes(cfgLen)) ?? throw new InvalidDataException("checkpoint configuration is empty");
            int n = r.ReadInt32(), k = r.ReadInt32(), m = r.ReadInt32();
            if (n < 1 || k < 1 || m < 1 || (long)n * k > int.MaxValue) throw new InvalidDataException($"checkpoint shape {n}-{k}-{m} is corrupt");
            int step = r.ReadInt32();
            long t = r.ReadInt64();
            var sets = new MlpParameters[3];
            for (int s = 0; s < 3; s++)
            {
                sets[s] = new MlpParameters(n, k, m);
                foreach (var tensor in sets[s].Tensors)
                {
                    var raw = r.ReadBytes(tensor.Length * sizeof(float));
                    if (raw.Length != tensor.Length * sizeof(float)) throw new InvalidDataException("checkpoint ends inside the parameter data (truncated file)");
                    raw.AsSpan().CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.AsSpan()));
                }
            }
            int count = r.ReadInt32();
            if (count < 0) throw new InvalidDataException("checkpoint history length is corrupt");
            var history = new List<StepMetrics>(count);
            for (int i = 0; i < count; i++)
                history.Add(new StepMetrics(r.ReadInt32(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble()));
            if (r.BaseStream.Position != bytes.Length) throw new InvalidDataException($"checkpoint has {bytes.Length - r.BaseStream.Position} unexpected trailing bytes");
            return new TrainerState(config, sets[0], new AdamState(sets[1], sets[2], t), step, history);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException("checkpoint is truncated");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"checkpoint configuration is not valid JSON: {e.Message}");
        }
    }
}
