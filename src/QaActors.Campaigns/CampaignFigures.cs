using ScottPlot;

namespace QaActors.Campaigns;

/// <summary>The campaign's figures (ScottPlot PNGs): Fig. 4 per pair, Fig. 3 per equivalence pair, Fig. 5.</summary>
public static class CampaignFigures
{
    private static readonly Color[] Palette = [Colors.Black, Colors.Blue, Colors.Red, Colors.Green, Colors.Orange];

    /// <summary>Fig. 4 as PNG bytes: mean test accuracy per step, shaded ± one unbiased std, one curve per method.</summary>
    public static byte[] Fig4Png(string title, IReadOnlyList<Curve> curves)
    {
        var plot = new Plot();
        plot.Title($"{title}: mean test accuracy of successful runs (± std)");
        plot.XLabel("step");
        plot.YLabel("test accuracy of the MLP");
        AddCurves(plot, curves);
        plot.Axes.SetLimitsY(0.4, 1.0);
        return plot.GetImage(800, 520).GetImageBytes(ImageFormat.Png);
    }

    /// <summary>Fig. 3 as PNG bytes: four panels (losses and accuracies of both models, each with the other's weights).</summary>
    public static byte[] Fig3Png(string title, IReadOnlyList<(string Title, string YLabel, Curve[] Curves)> panels)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(panels.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(2, 2);
        for (int i = 0; i < panels.Count; i++)
        {
            var plot = multiplot.GetPlot(i);
            plot.Title($"{title}: {panels[i].Title}");
            plot.XLabel("step");
            plot.YLabel(panels[i].YLabel);
            AddCurves(plot, panels[i].Curves);
        }
        return multiplot.Render(1200, 860).GetImageBytes(ImageFormat.Png);
    }

    private static void AddCurves(Plot plot, IReadOnlyList<Curve> curves)
    {
        for (int i = 0; i < curves.Count; i++)
        {
            var c = curves[i];
            var color = Palette[i % Palette.Length];
            if (c.N == 0 || c.Steps.Length == 0)
            {
                // Named in the legend, so a method without a successful run is visibly missing rather than forgotten.
                var empty = plot.Add.Scatter(new double[] { 0 }, new double[] { double.NaN });
                empty.LegendText = $"{c.Label}: no run to show";
                empty.Color = color;
                continue;
            }
            if (c.N > 1)
            {
                var lo = c.Mean.Zip(c.Std, (m, s) => m - s).ToArray();
                var hi = c.Mean.Zip(c.Std, (m, s) => m + s).ToArray();
                var band = plot.Add.FillY(c.Steps, lo, hi);
                band.FillStyle.Color = color.WithAlpha(0.15);
                band.LineStyle.Width = 0;
            }
            var line = plot.Add.Scatter(c.Steps, c.Mean);
            line.LegendText = $"{c.Label} (n={c.N})";
            line.Color = color;
            line.MarkerSize = c.Steps.Length > 60 ? 0 : 4;
        }
        plot.ShowLegend(Edge.Bottom);
    }

    public static void Save(Plot plot, string path, int width, int height)
    {
        string tmp = path + ".tmp.png";
        plot.SavePng(tmp, width, height);
        File.Move(tmp, path, overwrite: true);
    }
}
