using ScottPlot;
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
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>Issue 12: one early loss spike must not flatten the rest, and legends must not cover the last steps.</summary>
    [Fact]
    public void TheLossPanelIsLogarithmicWithAFloorAndLegendsSitOutsideTheData()
    {
        var history = Enumerable.Range(0, 6).Select(i => new QaActors.Learning.StepMetrics(i, i == 1 ? 40.0 : i == 5 ? 1e-9 : 0.5 / (i + 1),
            0.5 + 0.05 * i, 0.5 + 0.05 * i, 0.7 / (i + 1), -0.7 / (i + 1))).ToList();
        var multiplot = Plots.Build(RunOutputs.CurvePanels("t", history));
        var accuracy = multiplot.GetPlot(0);
        var loss = multiplot.GetPlot(1);

        var trainLoss = loss.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().Single(s => s.LegendText == "train loss");
        var ys = trainLoss.Data.GetScatterPoints().Select(p => p.Y).ToArray();
        Assert.Equal(Math.Log10(40.0), ys[1], 12);
        Assert.Equal(Math.Log10(0.5), ys[0], 12);
        Assert.Equal(Math.Log10(Plots.LogFloor), ys[5], 12); // 1e-9 sits on the floor instead of stretching the axis
        Assert.IsType<ScottPlot.TickGenerators.LogMinorTickGenerator>(((ScottPlot.TickGenerators.NumericAutomatic)loss.Axes.Left.TickGenerator).MinorTickGenerator);
        var accY = accuracy.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().First().Data.GetScatterPoints().Select(p => p.Y).ToArray();
        Assert.Equal(0.5, accY[0], 12); // the accuracy panel stays linear

        foreach (var plot in new[] { accuracy, loss })
        {
            Assert.False(plot.Legend.IsVisible, "a legend inside the data area covers the curves");
            Assert.Single(plot.Axes.GetPanels().OfType<ScottPlot.Panels.LegendPanel>());
        }
    }
}
