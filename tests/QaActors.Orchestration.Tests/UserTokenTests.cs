using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using QaActors.Orchestration.Users;

namespace QaActors.Orchestration.Tests;

/// <summary>API tokens, their hashes, user names and weights, and the admin-token file.</summary>
public class UserTokenTests
{
    [Fact]
    public void A_token_is_the_prefix_and_32_random_bytes_in_base64url_and_parses_back_to_the_same_hash()
    {
        var seen = new HashSet<string>();
        for (int i = 0; i < 200; i++)
        {
            var t = ApiToken.Generate();
            string text = t.Reveal();
            Assert.Equal(ApiToken.TextLength, text.Length);
            Assert.Equal(46, text.Length);
            Assert.StartsWith("qa_", text);
            Assert.Equal(32, Base64Url.DecodeFromChars(text.AsSpan(3)).Length);
            Assert.True(seen.Add(text));
            Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(text)), t.Hash.Bytes.ToArray());
            var back = ApiToken.Parse("  " + text + "\n");
            Assert.Equal(text, back.Reveal());
            Assert.True(back.Hash.Matches(t.Hash));
            Assert.Equal(t.Id, back.Id);
            Assert.Equal(8, t.Id.Length);
            Assert.Equal(Convert.ToHexStringLower(t.Hash.Bytes[..4]), t.Id);
        }
        // 200 tokens of 256 random bits: every byte value occurs in the secrets (not, say, only printable ones). The
        // generator cannot be seeded (it is the OS's); a correct one misses some value with probability below 1e-8.
        var bytes = seen.SelectMany(s => Base64Url.DecodeFromChars(s.AsSpan(3))).ToHashSet();
        Assert.Equal(256, bytes.Count);
    }

    [Fact]
    public void ToString_never_shows_the_token_only_its_id()
    {
        var t = ApiToken.Generate();
        string secret = t.Reveal()[3..];
        foreach (string shown in new[] { t.ToString(), t.Hash.ToString(), $"{t}", new AddUserResult(null, t, null).ToString(), new AddUser("a", false, 1, t.Hash).ToString() })
        {
            Assert.DoesNotContain(secret[..12], shown);
            Assert.Contains(t.Id, shown);
        }
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("qa_short", "not a QaActors API token")]
    [InlineData("xx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not a QaActors API token")]
    [InlineData("qa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "outside base64url")]
    [InlineData("qa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+AAAA", "outside base64url")]
    [InlineData("qa_AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA", "outside base64url")]
    [InlineData("qa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", "altered")] // spare bits set: not canonical
    public void Malformed_tokens_are_refused_without_quoting_them(string text, string expected)
    {
        Assert.False(ApiToken.TryParse(text, out var token, out var problem));
        Assert.Null(token);
        Assert.Contains(expected, problem);
        if (text.Trim().Length > 3) Assert.DoesNotContain(text.Trim()[3..], problem);
        Assert.Contains(expected, Assert.Throws<FormatException>(() => ApiToken.Parse(text)).Message);
        Assert.False(ApiToken.TryParse(null, out _, out _));
        Assert.True(ApiToken.TryParse("qa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", out _, out _)); // the all-zero secret is canonical
    }

    [Fact]
    public void Token_hashes_compare_by_value_and_are_checked_for_length()
    {
        var a = ApiToken.Generate().Hash;
        var same = TokenHash.FromBytes(a.Bytes);
        var other = ApiToken.Generate().Hash;
        Assert.True(a.Matches(same));
        Assert.Equal(a, same);
        Assert.Equal(a.GetHashCode(), same.GetHashCode());
        Assert.False(a.Matches(other));
        Assert.NotEqual(a, other);
        var oneBitOff = a.Bytes.ToArray();
        oneBitOff[31] ^= 1;
        Assert.False(a.Matches(TokenHash.FromBytes(oneBitOff)));
        Assert.Throws<ArgumentException>(() => TokenHash.FromBytes(new byte[31]));
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("bob.smith_2-x")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")] // 64
    public void Valid_user_names(string name) => Assert.Null(UserRules.NameProblem(name));

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("", "empty")]
    [InlineData("Alice", "starts with 'A'")]
    [InlineData("alIce", "contains 'I' (names are lower case)")]
    [InlineData("-alice", "starts with '-'")]
    [InlineData("..", "starts with '.'")]
    [InlineData("al ice", "contains ' '")]
    [InlineData("al/ice", "contains '/'")]
    [InlineData("al\nice", "contains '\\u000a'")]
    [InlineData("zoë", "contains '\\u00eb'")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "has 65 characters")]
    public void Invalid_user_names_are_refused_saying_what_is_allowed(string? name, string expected)
    {
        string problem = UserRules.NameProblem(name)!;
        Assert.Contains(expected, problem);
        Assert.Contains("use 1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", problem);
        Assert.DoesNotContain('\n', problem);
        Assert.False(UserRules.IsValidName(name));
    }

    [Fact]
    public void Weights_outside_the_range_are_refused_naming_the_range()
    {
        foreach (double w in new[] { 0.01, 1, 2.5, 100 }) Assert.Null(UserRules.WeightProblem(w));
        foreach (double w in new[] { 0, -1, 0.009, 100.5, double.NaN, double.PositiveInfinity })
            Assert.Contains("outside 0.01..100", UserRules.WeightProblem(w));
    }

    [Fact]
    public void The_admin_token_file_is_created_with_mode_0600_never_overwritten_and_read_back()
    {
        using var dir = new TempDir();
        Assert.Null(AdminTokenFile.TryRead(dir.Path));
        var token = ApiToken.Generate();
        string path = AdminTokenFile.Write(dir.Path, token);
        Assert.Equal(Path.Combine(dir.Path, "admin-token"), path);
        Assert.Equal(token.Reveal() + "\n", File.ReadAllText(path));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.True(AdminTokenFile.TryRead(dir.Path)!.Hash.Matches(token.Hash));

        var again = Assert.Throws<AdminTokenFileException>(() => AdminTokenFile.Write(dir.Path, ApiToken.Generate()));
        Assert.Contains("exists already", again.Message);
        Assert.Contains(path, again.Message);
        Assert.Equal(token.Reveal() + "\n", File.ReadAllText(path)); // untouched

        if (OperatingSystem.IsWindows()) return;
        // Other users could have read it: refused, as ssh refuses such a key.
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var open = Assert.Throws<AdminTokenFileException>(() => AdminTokenFile.TryRead(dir.Path));
        Assert.Contains("mode 0640", open.Message);
        Assert.DoesNotContain(token.Reveal()[3..], open.Message);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        // Not a token: refused without quoting the content.
        File.WriteAllText(path, "qa_not-a-token-but-a-secret-anyway");
        var bad = Assert.Throws<AdminTokenFileException>(() => AdminTokenFile.TryRead(dir.Path));
        Assert.Contains("does not hold an admin token", bad.Message);
        Assert.DoesNotContain("secret-anyway", bad.Message);
    }

    [Fact]
    public void The_admin_token_file_is_not_written_through_a_symbolic_link()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TempDir();
        string target = Path.Combine(dir.Path, "elsewhere");
        File.CreateSymbolicLink(AdminTokenFile.PathIn(dir.Path), target); // dangling: its target does not exist
        var e = Assert.Throws<AdminTokenFileException>(() => AdminTokenFile.Write(dir.Path, ApiToken.Generate()));
        Assert.Contains("exists already", e.Message);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public void A_data_dir_that_cannot_be_written_is_named_in_the_error()
    {
        using var dir = new TempDir();
        string missing = Path.Combine(dir.Path, "no-such-dir");
        var e = Assert.Throws<AdminTokenFileException>(() => AdminTokenFile.Write(missing, ApiToken.Generate()));
        Assert.Contains(Path.Combine(missing, "admin-token"), e.Message);
        Assert.Contains("cannot create", e.Message);
    }
}
