using System.Globalization;
using QaActors.Learning;

namespace QaActors.Campaigns;

/// <summary>One cell of the paper's Tables 1-3; <see cref="Value"/> null with <see cref="Text"/> "&gt;20" means "not within the run".</summary>
public sealed record PaperValue(string Table, string Dataset, string Pair, string Label, TrainingMethod Method, double? Value, string Text);

/// <summary>
/// The paper's Tables 1-3 (hocon/campaigns/paper-values.csv, embedded; its header cites the paper): what a report puts
/// beside the campaign's own figures.
/// </summary>
public sealed class PaperValues
{
    public const string Accuracy = "accuracy", StepsTo70 = "steps_to_70", SuccessRate = "success_rate";

    private readonly Dictionary<(string Table, string Dataset, string Pair, TrainingMethod Method), PaperValue> _values = [];
    private readonly Dictionary<(string Dataset, string Pair), string> _labels = [];
    private readonly List<(string Dataset, string Pair)> _order = [];

    public IReadOnlyCollection<PaperValue> All => _values.Values;

    public static PaperValues Load()
    {
        using var s = typeof(PaperValues).Assembly.GetManifestResourceStream("QaActors.campaigns.paper-values.csv")
            ?? throw new InvalidOperationException("the paper's values are not embedded in QaActors.Campaigns");
        using var r = new StreamReader(s);
        return Parse(r.ReadToEnd());
    }

    public static PaperValues Parse(string csv)
    {
        var result = new PaperValues();
        string[]? header = null;
        int lineNo = 0;
        foreach (var raw in csv.Split('\n'))
        {
            lineNo++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var f = line.Split(',');
            if (header is null) { header = f; continue; }
            if (f.Length != header.Length) throw new InvalidDataException($"paper-values.csv line {lineNo}: {f.Length} fields, the header has {header.Length}");
            for (int i = 4; i < f.Length; i++)
            {
                var method = TrainingMethodNames.Parse(header[i]);
                string text = f[i].Trim();
                double? v = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) ? x : null;
                if (v is null && !text.StartsWith('>')) throw new InvalidDataException($"paper-values.csv line {lineNo}: '{text}' is neither a number nor '>N'");
                result._values[(f[0], f[1], f[2], method)] = new PaperValue(f[0], f[1], f[2], f[3], method, v, text);
                if (result._labels.TryAdd((f[1], f[2]), f[3])) result._order.Add((f[1], f[2]));
            }
        }
        return result;
    }

    public PaperValue? Get(string table, string dataset, string pair, TrainingMethod method) =>
        _values.TryGetValue((table, dataset, pair, method), out var v) ? v : null;

    /// <summary>The paper's name of a pair ("Pullover-Dress"), or the pair itself when the paper has no such row.</summary>
    public string Label(string dataset, string pair) => _labels.TryGetValue((dataset, pair), out var l) ? l : pair;

    /// <summary>The paper's order of rows: its MNIST pairs, then its Fashion-MNIST pairs.</summary>
    public int Order(string dataset, string pair)
    {
        int i = _order.IndexOf((dataset, pair));
        return i < 0 ? int.MaxValue : i;
    }
}
