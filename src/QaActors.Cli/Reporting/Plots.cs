using ScottPlot;

namespace QaActors.Cli.Reporting;

/// <summary>PNG figures of training curves (ScottPlot), written atomically next to the run's other outputs.</summary>
public static class Plots
{
    public sealed record Series(string Label, double[] X, double[] Y);

    public sealed record Panel(string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series);

    /// <summary>One panel per plot arranged in a grid of <paramref name="columns"/> columns (Fig. 3 is 2 × 2).</summary>
    public static void Write(string path, IReadOnlyList<Panel> panels, int columns = 2, int panelWidth = 560, int panelHeight = 400)
    {
        if (panels.Count == 0) throw new ArgumentException("at least one panel is needed", nameof(panels));
        var multiplot = new Multiplot();
        multiplot.AddPlots(panels.Count);
        int rows = (panels.Count + columns - 1) / columns;
        int cols = Math.Min(columns, panels.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, cols);
        for (int i = 0; i < panels.Count; i++)
        {
            var plot = multiplot.GetPlot(i);
            var panel = panels[i];
            plot.Title(panel.Title);
            plot.XLabel(panel.XLabel);
            plot.YLabel(panel.YLabel);
            foreach (var s in panel.Series)
            {
                var scatter = plot.Add.Scatter(s.X, s.Y);
                scatter.LegendText = s.Label;
                scatter.MarkerSize = s.X.Length > 60 ? 0 : 4;
            }
            if (panel.Series.Count > 1) plot.ShowLegend();
        }
        string tmp = path + ".tmp.png";
        multiplot.SavePng(tmp, cols * panelWidth, rows * panelHeight);
        File.Move(tmp, path, overwrite: true);
    }
}
