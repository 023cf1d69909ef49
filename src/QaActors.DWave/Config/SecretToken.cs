using System.Text.Json;
using System.Text.Json.Serialization;

namespace QaActors.DWave.Config;

/// <summary>
/// A SAPI token that cannot leak by accident: <see cref="ToString"/>, JSON serialization and debugger
/// display all show a masked form. The clear text is reachable only through <see cref="Reveal"/>, which
/// the HTTP layer calls once per request to fill the <c>X-Auth-Token</c> header.
/// </summary>
[JsonConverter(typeof(SecretTokenJsonConverter))]
[System.Diagnostics.DebuggerDisplay("{Masked}")]
public sealed class SecretToken : IEquatable<SecretToken>
{
    private readonly string _value;

    public SecretToken(string value)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ArgumentException("a SAPI token must not be empty; set DWAVE_API_TOKEN or 'token' in dwave.conf", nameof(value));
        if (Problem(value) is { } why) throw new ArgumentException($"the SAPI token {why}", nameof(value));
        _value = value.Trim();
    }

    /// <summary>
    /// Why a token cannot be sent, or null. It goes into an HTTP header: a control character (a newline would start
    /// a second header), a space or a non-ASCII character is refused. The message gives the position, never the text.
    /// </summary>
    public static string? Problem(string value)
    {
        string t = value.Trim();
        for (int i = 0; i < t.Length; i++)
        {
            char c = t[i];
            if (char.IsControl(c)) return $"contains a control character (U+{(int)c:X4}) at position {i + 1}";
            if (c == ' ') return $"contains a space at position {i + 1}";
            if (c > '~') return $"contains a non-ASCII character at position {i + 1}";
        }
        return null;
    }

    /// <summary>
    /// Leap tokens look like "DEV-&lt;hex&gt;"; the short prefix before the dash names the token kind and is
    /// harmless, so it is kept to help users tell tokens apart. Nothing of the secret part is shown.
    /// </summary>
    public string Masked
    {
        get
        {
            int dash = _value.IndexOf('-');
            string prefix = dash is > 0 and <= 4 ? _value[..(dash + 1)] : "";
            return prefix + "****";
        }
    }

    public string Reveal() => _value;

    public override string ToString() => Masked;

    public bool Equals(SecretToken? other) => other is not null && string.Equals(_value, other._value, StringComparison.Ordinal);
    public override bool Equals(object? obj) => obj is SecretToken t && Equals(t);
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_value);
}

/// <summary>Writes the masked form only; reading is refused so that tokens never travel through JSON files.</summary>
public sealed class SecretTokenJsonConverter : JsonConverter<SecretToken>
{
    public override SecretToken Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new JsonException("SAPI tokens are not read from JSON; use DWAVE_API_TOKEN or dwave.conf");

    public override void Write(Utf8JsonWriter writer, SecretToken value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Masked);
}
