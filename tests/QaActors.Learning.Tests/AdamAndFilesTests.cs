using System.Buffers.Binary;
using System.Text;
using QaActors.Learning;

namespace QaActors.Learning.Tests;

public class AdamAndFilesTests
{
    [Fact]
    public void AdamMatchesHandComputedSteps()
    {
        var p = new MlpParameters(1, 1, 1);
        p.W1[0] = 0.5f; p.B[0] = -1f; p.W2[0] = 2f; p.C[0] = 0f;
        var adam = new Adam(p, 0.1);
        double[] theta = [0.5, -1, 2, 0], m = new double[4], v = new double[4];
        double[][] grads = [[0.3, -0.2, 1.5, 0.0], [0.1, 0.4, -2.0, 1e-3], [-0.5, 0.0, 0.7, 2.0]];
        for (int t = 1; t <= grads.Length; t++)
        {
            var g = new MlpParameters(1, 1, 1);
            g.W1[0] = (float)grads[t - 1][0]; g.B[0] = (float)grads[t - 1][1]; g.W2[0] = (float)grads[t - 1][2]; g.C[0] = (float)grads[t - 1][3];
            adam.Step(p, g);
            for (int i = 0; i < 4; i++)
            {
                double gi = (float)grads[t - 1][i];
                m[i] = 0.9 * m[i] + 0.1 * gi;
                v[i] = 0.999 * v[i] + 0.001 * gi * gi;
                double mhat = m[i] / (1 - Math.Pow(0.9, t));
                double denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(0.999, t)) + 1e-8;
                theta[i] -= 0.1 * mhat / denom;
            }
            float[] got = [p.W1[0], p.B[0], p.W2[0], p.C[0]];
            for (int i = 0; i < 4; i++) Assert.Equal(theta[i], got[i], 1e-5);
        }
        Assert.Equal(3, adam.State.T);
        // First step of Adam moves every coordinate with a non-zero gradient by about lr, whatever its size.
    }

    [Fact]
    public void AscentStepMovesAgainstTheLossStep()
    {
        var p1 = new MlpParameters(2, 2, 1);
        var p2 = p1.Clone();
        var g = Reference.RandomParameters(2, 2, 1, 5, 1);
        new Adam(p1, 0.01).StepAscent(p1, g);
        new Adam(p2, 0.01).Step(p2, g);
        for (int t = 0; t < 4; t++)
            for (int i = 0; i < p1.Tensors[t].Length; i++) Assert.Equal(-p2.Tensors[t][i], p1.Tensors[t][i]);
    }

    [Fact]
    public void SafetensorsHeaderIsExactlyAsSpecified()
    {
        var p = new MlpParameters(2, 1, 1);
        p.W1[0] = 1f; p.W1[1] = -2f; p.B[0] = 0.5f; p.W2[0] = 3f; p.C[0] = -0.25f;
        var bytes = ModelFile.ToBytes(p, new Dictionary<string, string> { ["dataset"] = "mnist", ["classes"] = "0,1" });
        const string json = "{\"__metadata__\":{\"classes\":\"0,1\",\"dataset\":\"mnist\"},"
            + "\"hidden.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
            + "\"hidden.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
            + "\"output.weight\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[12,16]},"
            + "\"output.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}";
        int padded = (json.Length + 7) / 8 * 8;
        Assert.Equal((ulong)padded, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal(json + new string(' ', padded - json.Length), Encoding.UTF8.GetString(bytes, 8, padded));
        Assert.Equal(8 + padded + 20, bytes.Length);
        var data = bytes.AsSpan(8 + padded);
        // 1.0f = 00 00 80 3F little-endian; -2.0f = 00 00 00 C0.
        Assert.Equal(new byte[] { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0 }, data[..8].ToArray());
        Assert.Equal(-0.25f, BinaryPrimitives.ReadSingleLittleEndian(data[16..]));
    }

    [Fact]
    public void ModelFileRoundTripsBitExactlyAndAtomically()
    {
        var dir = Directory.CreateTempSubdirectory("qa-learning-");
        try
        {
            var p = MlpParameters.InitMlp(784, 548, 1, 3);
            var path = Path.Combine(dir.FullName, "model.safetensors");
            var meta = new Dictionary<string, string> { ["dataset"] = "fashion-mnist", ["classes"] = "2,3", ["method"] = "gibbs", ["step"] = "20", ["hidden"] = "548" };
            ModelFile.Write(path, p, meta);
            ModelFile.Write(path, p, meta); // overwriting is allowed and leaves no temporary files
            Assert.Single(Directory.GetFiles(dir.FullName));
            var back = ModelFile.Read(path);
            Assert.True(back.Parameters.BitwiseEquals(p));
            Assert.Equal(meta, back.Metadata);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void CorruptModelFilesGiveClearErrors()
    {
        var good = ModelFile.ToBytes(MlpParameters.InitEbm(4, 3, 1, 1));
        Assert.Contains("too short", Assert.Throws<ModelFormatException>(() => ModelFile.Parse(new byte[3], "m")).Message);
        Assert.Contains("truncated", Assert.Throws<ModelFormatException>(() => ModelFile.Parse(good[..^4], "m")).Message);
        var badJson = (byte[])good.Clone();
        badJson[8] = (byte)'x';
        Assert.Contains("not valid JSON", Assert.Throws<ModelFormatException>(() => ModelFile.Parse(badJson, "m")).Message);
        var wrongType = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(good).Replace("\"F32\"", "\"F16\""));
        Assert.Contains("not F32", Assert.Throws<ModelFormatException>(() => ModelFile.Parse(wrongType, "m")).Message);
        var huge = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue);
        Assert.Contains("header", Assert.Throws<ModelFormatException>(() => ModelFile.Parse(huge, "m")).Message);
        Assert.Contains("not found", Assert.Throws<ModelFormatException>(() => ModelFile.Read("/nonexistent/x.safetensors")).Message);
    }

    [Fact]
    public void InitialisationsFollowTheirDistributions()
    {
        var e = MlpParameters.InitEbm(784, 548, 1, 9);
        double mean = e.W1.Average(v => (double)v), sd = Math.Sqrt(e.W1.Average(v => (double)v * v) - mean * mean);
        Assert.InRange(mean, -3e-4, 3e-4);
        Assert.InRange(sd, 0.0098, 0.0102);
        Assert.All(e.B, b => Assert.Equal(0f, b));
        var m = MlpParameters.InitMlp(784, 548, 1, 9);
        Assert.All(m.W1, w => Assert.InRange(w, -1 / 28.0, 1 / 28.0));
        Assert.All(m.W2, w => Assert.InRange(w, -1 / Math.Sqrt(548), 1 / Math.Sqrt(548)));
        Assert.InRange(m.W1.Max(), 0.035, 1 / 28.0);
        Assert.True(MlpParameters.InitMlp(784, 548, 1, 9).BitwiseEquals(m));
        Assert.False(MlpParameters.InitMlp(784, 548, 1, 10).BitwiseEquals(m));
    }
}
