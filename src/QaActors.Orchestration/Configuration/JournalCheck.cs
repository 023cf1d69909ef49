using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace QaActors.Orchestration.Configuration;

/// <summary>
/// Proves the journal usable before the actor system starts. Akka.Persistence retries a journal it cannot reach with
/// backoff and logs each attempt, so a wrong --db used to surface as thousands of log lines and an ask timeout half a
/// minute later; one direct connection attempt with a short timeout names the problem in a few seconds instead.
/// </summary>
public static class JournalCheck
{
    /// <summary>
    /// Seconds one PostgreSQL connection attempt may take unless the connection string sets Timeout itself. A refused
    /// port fails at once; this bounds a host that does not answer. 5 s proved too short for a loaded two-core machine
    /// whose server had just started.
    /// </summary>
    public const int ConnectTimeoutSeconds = 10;

    private static readonly byte[] SqliteHeader = "SQLite format 3\0"u8.ToArray();

    /// <param name="source">What the user set: "--db" or the configuration key the connection string came from.</param>
    public static void Verify(QaSettings settings, string source)
    {
        string conn = settings.Akka.GetString("akka.persistence.journal.sql.connection-string");
        if (settings.Provider == "postgres") VerifyPostgres(conn, source);
        else VerifySqlite(conn, source);
    }

    internal static void VerifySqlite(string conn, string source)
    {
        string file;
        try { file = new SqliteConnectionStringBuilder(conn).DataSource; }
        catch (ArgumentException)
        {
            throw new QaConfigException(source, $"'{Redact(conn)}' is neither a SQLite file path nor a connection string; give a file such as ./qa.db, or Host=...;Database=...;Username=... for PostgreSQL");
        }
        if (string.IsNullOrWhiteSpace(file) || file == ":memory:")
            throw new QaConfigException(source, $"'{Redact(conn)}' names no SQLite file; give a file such as ./qa.db (the journal must outlive the process)");
        string full = Path.GetFullPath(file);
        if (Directory.Exists(full))
            throw new QaConfigException(source, $"{file} is a folder; give a file inside it, for example {Path.Combine(file, "qa.db")}");
        string? folder = Path.GetDirectoryName(full);
        if (folder is not null && !Directory.Exists(folder))
            throw new QaConfigException(source, $"the folder of {file} ({folder}) does not exist; create it or give another path");
        if (File.Exists(full) && new FileInfo(full).Length > 0 && !HasSqliteHeader(full))
            throw new QaConfigException(source, $"{file} exists and is not a SQLite database; give a new file name or a qa.db written by qa");
    }

    private static bool HasSqliteHeader(string path)
    {
        var header = new byte[SqliteHeader.Length];
        using var f = File.OpenRead(path);
        int n = f.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        return n == header.Length && header.AsSpan().SequenceEqual(SqliteHeader);
    }

    internal static void VerifyPostgres(string conn, string source)
    {
        NpgsqlConnectionStringBuilder b;
        try { b = new NpgsqlConnectionStringBuilder(conn); }
        catch (ArgumentException e)
        {
            throw new QaConfigException(source, $"is not a PostgreSQL connection string ({Redact(e.Message)}); use Host=HOST;Port=5432;Database=DB;Username=USER;Password=...");
        }
        if (string.IsNullOrWhiteSpace(b.Host))
            throw new QaConfigException(source, "has no Host=; use Host=HOST;Port=5432;Database=DB;Username=USER;Password=...");
        // The typed builder reports every keyword it knows as present; the generic one holds only what was written.
        if (!new DbConnectionStringBuilder { ConnectionString = conn }.ContainsKey("Timeout")) b.Timeout = ConnectTimeoutSeconds;
        string where = $"{b.Host}:{b.Port}";
        try
        {
            using var c = new NpgsqlConnection(b.ConnectionString);
            c.Open();
        }
        catch (Exception e) when (e is DbException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            string why = e is PostgresException pg ? $"{pg.SqlState} {pg.MessageText}" : Innermost(e).Message;
            throw new QaConfigException(source, $"cannot connect to PostgreSQL at {where} within {b.Timeout} s ({why}); check the host, port, database, user and password, and that the server runs");
        }
    }

    /// <summary>A connection string as it may be shown: passwords never reach a terminal or a log.</summary>
    internal static string Redact(string conn) =>
        System.Text.RegularExpressions.Regex.Replace(conn, @"(?i)\b(password|pwd)\s*=[^;]*", "$1=***");

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
