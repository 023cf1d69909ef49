using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using QaActors.Learning;

namespace QaActors.Campaigns;

/// <summary>One experiment of a campaign: (study, dataset, pair, method, seed) and its merged settings.</summary>
public sealed record Cell(Study Study, string Dataset, int ClassA, int ClassB, TrainingMethod Method, ulong Seed, CellSettings Settings)
{
    /// <summary>
    /// The cell's part of its experiment id: short, stable and made of id characters only
    /// ("m-2-3-gibbs-s1"; "e-" in front for Sec. 5.1 cells; f = fashion-mnist, i + hash for an idx folder).
    /// </summary>
    public string Key
    {
        get
        {
            string ds = Dataset switch
            {
                "mnist" => "m",
                "fashion-mnist" => "f",
                _ => "i" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Dataset)))[..6],
            };
            return string.Create(CultureInfo.InvariantCulture, $"{(Study == Study.Equivalence ? "e-" : "")}{ds}-{ClassA}-{ClassB}-{Method.ToWire()}-s{Seed}");
        }
    }

    /// <summary>The pair as the tables name it ("2-3").</summary>
    public string PairLabel => string.Create(CultureInfo.InvariantCulture, $"{ClassA}-{ClassB}");

    public TrainingConfig ToTrainingConfig() => Settings.ToTrainingConfig(Method, Dataset, ClassA, ClassB, Seed);
}

/// <summary>
/// The grid of a campaign, expanded in one deterministic order (studies as in the file, Sec. 5.1 first; then datasets,
/// pairs, methods and seeds as listed), and the ids derived from it: the same file, name and user always give the same
/// campaign id and the same experiment ids, so a campaign resubmitted or recovered never runs a cell twice.
/// </summary>
public static class CampaignGrid
{
    public const int MaxIdLength = 64;

    public static ImmutableArray<Cell> Expand(CampaignSpec spec)
    {
        var cells = ImmutableArray.CreateBuilder<Cell>();
        foreach (var study in spec.Studies.OrderBy(s => s.Study))
            foreach (var d in study.Datasets)
                foreach (var (a, b) in d.Pairs)
                    foreach (var m in study.Methods)
                        foreach (var seed in study.Seeds)
                            cells.Add(new Cell(study.Study, d.Dataset, a, b, m, seed, study.SettingsByMethod[m]));
        return cells.ToImmutable();
    }

    /// <summary>
    /// The campaign's id: its name (letters, digits, - and _ only, shortened) and a hash of the user and of every
    /// cell with its settings. Another user, another name or any changed setting gives another id.
    /// </summary>
    public static string CampaignId(CampaignSpec spec, string user)
    {
        var text = new StringBuilder().Append("qa-campaign-v1\n").Append(user).Append('\n').Append(spec.Name).Append('\n');
        foreach (var c in Expand(spec)) text.Append(c.Key).Append(' ').Append(c.Settings.Canonical()).Append('\n');
        if (spec.Runtime is { } r)
            text.Append(CultureInfo.InvariantCulture, $"runtime {r.MinSize:R} {r.MaxSize:R} {r.PointsPerDecade} {r.MeasureMaxSize:R} {r.Reads} {r.Sweeps} {r.Repeats}\n");
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..8];
        string slug = new(spec.Name.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' ? char.ToLowerInvariant(ch) : '-').ToArray());
        slug = slug.Trim('-');
        if (slug.Length == 0) slug = "campaign";
        if (slug.Length > 20) slug = slug[..20].TrimEnd('-');
        return $"{slug}-{hash}";
    }

    /// <summary>
    /// The experiment id of a cell: campaign id + cell key, at most 64 id characters. A key too long for that (an
    /// enormous seed) is replaced by its hash, so the id stays unique and stable.
    /// </summary>
    public static string ExperimentId(string campaignId, Cell cell)
    {
        string id = $"{campaignId}-{cell.Key}";
        if (id.Length <= MaxIdLength) return id;
        string h = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cell.Key)))[..16];
        id = $"{campaignId}-x{h}";
        return id.Length <= MaxIdLength ? id : id[..MaxIdLength];
    }
}
