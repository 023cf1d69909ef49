using QaActors.Cli.Reporting;

namespace QaActors.Cli.Tests;

public class PlotTests
{
    [Fact]
    public void WritesAFourPanelPng()
    {
        string dir = Directory.CreateTempSubdirectory("qa-plot").FullName;
        string path = Path.Combine(dir, "fig.png");
        double[] x = Enumerable.Range(0, 25).Select(i => i * 10.0).ToArray();
        var panels = Enumerable.Range(0, 4).Select(p => new Plots.Panel($"panel {p}", "step", "accuracy",
            [new Plots.Series("a", x, x.Select(v => 1 - Math.Exp(-v / 50)).ToArray()), new Plots.Series("b", x, x.Select(v => 1 - Math.Exp(-v / 80)).ToArray())])).ToList();
        Plots.Write(path, panels);
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 10_000, $"PNG only {bytes.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        Assert.False(File.Exists(path + ".tmp.png"));
    }
}
