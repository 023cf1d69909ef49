using System.Globalization;
using System.Text;

namespace QaActors.Orchestration.Users;

/// <summary>What a user name and a fair-share weight may be. Pure, so the CLI can check input before sending it.</summary>
public static class UserRules
{
    public const int MaxNameLength = 64;
    public const double MinWeight = 0.01;
    public const double MaxWeight = 100;
    public const double DefaultWeight = 1;

    /// <summary>
    /// Null when <paramref name="name"/> is a valid user name, else one sentence saying what is wrong and what is allowed.
    /// Names are 1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit: lower case only, so
    /// "Alice" and "alice" cannot be two users; no leading '-' (it would read as a CLI option) or '.' (no "..").
    /// </summary>
    public static string? NameProblem(string? name)
    {
        const string allowed = "use 1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit";
        if (string.IsNullOrEmpty(name)) return $"the user name is empty: {allowed}";
        if (name.Length > MaxNameLength) return $"the user name '{Shown(name)}' has {name.Length} characters: {allowed}";
        if (!(char.IsAsciiLetterLower(name[0]) || char.IsAsciiDigit(name[0])))
            return $"the user name '{Shown(name)}' starts with '{Shown(name[..1])}': {allowed}";
        foreach (char c in name)
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-'))
                return $"the user name '{Shown(name)}' contains '{Shown(c.ToString())}'" +
                    (char.IsAsciiLetterUpper(c) ? " (names are lower case)" : "") + $": {allowed}";
        return null;
    }

    public static bool IsValidName(string? name) => NameProblem(name) is null;

    /// <summary>Null when <paramref name="weight"/> is a valid fair-share weight, else why not and the allowed range.</summary>
    public static string? WeightProblem(double weight) =>
        weight is >= MinWeight and <= MaxWeight
            ? null
            : $"the weight {weight.ToString("R", CultureInfo.InvariantCulture)} is outside {MinWeight.ToString(CultureInfo.InvariantCulture)}..{MaxWeight.ToString(CultureInfo.InvariantCulture)} (a user's share of the QPU relative to the others; default {DefaultWeight.ToString(CultureInfo.InvariantCulture)})";

    /// <summary>Input echoed in a message: at most 64 characters, control and non-ASCII characters as \uXXXX, so a message stays one readable line.</summary>
    private static string Shown(string s)
    {
        var b = new StringBuilder();
        foreach (char c in s.Length > MaxNameLength ? s[..MaxNameLength] : s)
            b.Append(c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:x4}");
        if (s.Length > MaxNameLength) b.Append('…');
        return b.ToString();
    }
}
