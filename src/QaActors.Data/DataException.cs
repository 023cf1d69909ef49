namespace QaActors.Data;

/// <summary>
/// A problem with the user's data or data request (unknown dataset or class, missing or corrupt files, sizes
/// larger than available, npm failing). The message is one line that names the problem and the fix; the CLI
/// prints it and exits with code 2.
/// </summary>
public sealed class DataException : Exception
{
    public DataException(string message) : base(message) { }
    public DataException(string message, Exception inner) : base(message, inner) { }
}
