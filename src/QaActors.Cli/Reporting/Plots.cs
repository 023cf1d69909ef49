using ScottPlot;

namespace QaActors.Cli.Reporting;

/// <summary>PNG figures of training curves (ScottPlot), written atomically next to the run's other outputs.</summary>
public static class Plots
{
    public sealed record Series(string Label, double[] X, double[] Y);

    /// <param name="LogY">Plot the values on a log scale: losses span decades, and one early spike on a linear axis
    /// flattens every later step into a line at the bottom.</param>
    public sealed record Panel(string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series, bool LogY = false);

    /// <summary>
    /// The bottom of a log axis. A batch's training loss can reach 1e-10 once the batch is fitted; drawn to scale,
    /// those decades would squeeze the test curves into a strip, so values below the floor sit on it.
    /// </summary>
    public const double LogFloor = 1e-3;

    /// <summary>One panel per plot arranged in a grid of <paramref name="columns"/> columns (Fig. 3 is 2 × 2).</summary>
    public static void Write(string path, IReadOnlyList<Panel> panels, int columns = 2, int panelWidth = 560, int panelHeight = 400)
    {
        var multiplot = Build(panels, columns);
        int cols = Math.Min(columns, panels.Count);
        int rows = (panels.Count + columns - 1) / columns;
        string tmp = path + ".tmp.png";
        multiplot.SavePng(tmp, cols * panelWidth, rows * panelHeight);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The figure before rendering (tests inspect its axes and legends).</summary>
    public static Multiplot Build(IReadOnlyList<Panel> panels, int columns = 2)
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
            plot.YLabel(panel.YLabel + (panel.LogY ? $" (log scale, floor {LogFloor.ToString(System.Globalization.CultureInfo.InvariantCulture)})" : ""));
            foreach (var s in panel.Series)
            {
                var y = panel.LogY ? s.Y.Select(v => double.IsNaN(v) ? v : Math.Log10(Math.Max(v, LogFloor))).ToArray() : s.Y;
                var scatter = plot.Add.Scatter(s.X, y);
                scatter.LegendText = s.Label;
                scatter.MarkerSize = s.X.Length > 60 ? 0 : 4;
            }
            if (panel.LogY)
            {
                // ScottPlot has no log axis: the data are log10 values, ticks are labelled with the values themselves.
                plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
                {
                    MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                    LabelFormatter = v => Math.Pow(10, v).ToString("G3", System.Globalization.CultureInfo.InvariantCulture),
                };
            }
            // Outside the data area: an inside legend covers the last steps, where the curves end.
            if (panel.Series.Count > 1) plot.ShowLegend(Edge.Bottom);
        }
        return multiplot;
    }
}
