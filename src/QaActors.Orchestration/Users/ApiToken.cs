using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace QaActors.Orchestration.Users;

/// <summary>
/// A bearer token of the HTTP API: <c>qa_</c> followed by 32 bytes from the operating system's cryptographic random
/// generator in base64url (43 characters). The text exists only where the token is made (it is shown once) and where a
/// client presents it; everything else, the user registry, its journal and every message between nodes, sees only its
/// <see cref="TokenHash"/> (docs/architecture.md, "Users and tokens"). <see cref="ToString"/> shows the hash's id, never
/// the text, so a token that lands in a log line or an exception message does not leak.
/// </summary>
public sealed class ApiToken
{
    public const string Prefix = "qa_";
    public const int SecretBytes = 32;

    /// <summary>Length of the base64url form of <see cref="SecretBytes"/> bytes without padding.</summary>
    public const int SecretChars = (SecretBytes * 4 + 2) / 3;

    public static int TextLength => Prefix.Length + SecretChars;

    private readonly string _text;

    public TokenHash Hash { get; }

    /// <summary>The hash's short id, safe for logs and listings.</summary>
    public string Id => Hash.Id;

    private ApiToken(string text)
    {
        _text = text;
        Hash = TokenHash.Of(text);
    }

    public static ApiToken Generate()
    {
        Span<byte> secret = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(secret);
        var token = new ApiToken(Prefix + Base64Url.EncodeToString(secret));
        CryptographicOperations.ZeroMemory(secret);
        return token;
    }

    /// <summary>
    /// The token in <paramref name="text"/> (surrounding white space allowed, as when read from a file or an
    /// environment variable), or false when it is not one this code makes. The reason never quotes the text: a
    /// mistyped token is still mostly a secret.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out ApiToken? token, [NotNullWhen(false)] out string? problem)
    {
        token = null;
        var t = text.AsSpan().Trim();
        if (t.IsEmpty) { problem = "the token is empty"; return false; }
        if (!t.StartsWith(Prefix, StringComparison.Ordinal) || t.Length != TextLength)
        {
            problem = $"the token is not a QaActors API token ({Prefix} followed by {SecretChars} characters; {t.Length} characters given)";
            return false;
        }
        var secret = t[Prefix.Length..];
        // Base64Url.IsValid accepts padding and white space; a token has neither, so check the alphabet directly.
        foreach (char c in secret)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                problem = "the token has a character outside base64url (A-Z, a-z, 0-9, '-', '_')";
                return false;
            }
        // 43 characters carry 258 bits; the last character's two spare bits are zero in every token we make, and
        // requiring that keeps one secret from having four spellings (and the decoder from refusing it).
        if ((SextetOf(secret[^1]) & 3) != 0)
        {
            problem = "the token's last character is not one this code produces: it was altered";
            return false;
        }
        Span<byte> bytes = stackalloc byte[SecretBytes];
        bool decoded = Base64Url.TryDecodeFromChars(secret, bytes, out int n) && n == SecretBytes;
        CryptographicOperations.ZeroMemory(bytes);
        if (!decoded) { problem = "the token does not decode to 32 bytes"; return false; }
        token = new ApiToken(t.ToString());
        problem = null;
        return true;
    }

    private static int SextetOf(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        _ => 63,
    };

    /// <summary>The token in <paramref name="text"/>; <see cref="FormatException"/> (without the text) when it is not one.</summary>
    public static ApiToken Parse(string? text) =>
        TryParse(text, out var token, out var problem) ? token : throw new FormatException(problem);

    /// <summary>
    /// The token's text. Call it only to hand the token to its owner once (the reply of `qa user add`, the admin-token
    /// file) or to present it (an Authorization header); never to log, persist or send it to another node.
    /// </summary>
    public string Reveal() => _text;

    public override string ToString() => $"API token {Id}";
}

/// <summary>
/// What is stored and compared in place of a token: SHA-256 of its UTF-8 text. A salt or a slow hash protects
/// low-entropy secrets (passwords) from guessing; a 256-bit random token cannot be guessed, so a plain hash is as
/// strong, needs no secret shared between the nodes, and lets any node compute it. Compared in constant time
/// (<see cref="Matches"/>), so the time a comparison takes says nothing about how much of a hash agreed.
/// </summary>
public sealed class TokenHash : IEquatable<TokenHash>
{
    public const int Length = 32;

    private readonly byte[] _bytes;

    private TokenHash(byte[] bytes) => _bytes = bytes;

    public static TokenHash Of(string tokenText) => new(SHA256.HashData(Encoding.UTF8.GetBytes(tokenText)));

    /// <summary>A stored hash (from the journal).</summary>
    public static TokenHash FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length) throw new ArgumentException($"a token hash has {Length} bytes, not {bytes.Length}", nameof(bytes));
        return new TokenHash(bytes.ToArray());
    }

    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>The first 4 bytes in hex: names a token in logs and listings without revealing it (or enough of its hash to matter).</summary>
    public string Id => Convert.ToHexStringLower(_bytes, 0, 4);

    public bool Matches(TokenHash other) => CryptographicOperations.FixedTimeEquals(_bytes, other._bytes);

    public bool Equals(TokenHash? other) => other is not null && Matches(other);

    public override bool Equals(object? obj) => obj is TokenHash other && Matches(other);

    public override int GetHashCode() => BitConverter.ToInt32(_bytes, 0);

    public override string ToString() => $"token {Id}";
}
