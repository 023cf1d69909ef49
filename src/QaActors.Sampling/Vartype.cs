namespace QaActors.Sampling;

/// <summary>The domain of every variable of a problem: SPIN is {-1,+1}, BINARY is {0,1} (dimod's names).</summary>
public enum Vartype
{
    Spin,
    Binary,
}

public static class VartypeNames
{
    public static string ToWire(this Vartype v) => v == Vartype.Spin ? "SPIN" : "BINARY";

    public static Vartype Parse(string text, string where) => text.ToUpperInvariant() switch
    {
        "SPIN" => Vartype.Spin,
        "BINARY" => Vartype.Binary,
        _ => throw new FormatException($"{where}: vartype '{text}' is not known; use \"SPIN\" or \"BINARY\"."),
    };
}
