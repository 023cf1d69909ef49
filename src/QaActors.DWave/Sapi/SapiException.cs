namespace QaActors.DWave.Sapi;

/// <summary>What went wrong, in terms a caller can act on (re-authenticate, fix the problem, wait, retry).</summary>
public enum SapiErrorKind
{
    /// <summary>401/403: the token is missing, wrong or not allowed for this solver.</summary>
    Authentication,
    /// <summary>404: the solver or problem id does not exist.</summary>
    NotFound,
    /// <summary>400/409/413/415, or our own pre-submit validation: the request itself must change.</summary>
    BadProblem,
    /// <summary>The solver reports OFFLINE, or a problem failed because the solver went offline.</summary>
    SolverOffline,
    /// <summary>The problem reached status FAILED; <see cref="SapiException.Message"/> carries SAPI's error_message.</summary>
    ProblemFailed,
    /// <summary>429: request rate exceeded; <see cref="SapiException.RetryAfter"/> says when to come back.</summary>
    RateLimited,
    /// <summary>5xx, connection refused/reset, request timeout, or a wait's deadline passing: worth retrying later.</summary>
    Transient,
    /// <summary>The caller cancelled, or the problem was CANCELLED on the server.</summary>
    Cancelled,
    /// <summary>The server answered with something this client cannot read (wrong media type or version, malformed JSON).</summary>
    Protocol,
}

/// <summary>
/// Every failure of the SAPI client. Messages never contain the token (the client never formats it), and
/// name the request (method and path) so that a user knows which call failed.
/// </summary>
public class SapiException : Exception
{
    public SapiErrorKind Kind { get; }
    /// <summary>HTTP status, when a response was received.</summary>
    public int? StatusCode { get; }
    /// <summary>SAPI's error_code from the body, when present.</summary>
    public int? ErrorCode { get; }
    /// <summary>Parsed Retry-After for 429/503 responses.</summary>
    public TimeSpan? RetryAfter { get; }
    /// <summary>The problem id this failure concerns, when known.</summary>
    public string? ProblemId { get; }
    /// <summary>True when the request provably never reached the server (connection refused before any byte).</summary>
    public bool NotSent { get; }
    /// <summary>
    /// True when the solver accepted problem <see cref="ProblemId"/> and the call failed before learning how it ended
    /// (the wait or the answer fetch failed): it may have run, and its access time may have been charged. A caller that
    /// accounts for QPU time must not assume it was free (docs/architecture.md, "Gateway").
    /// </summary>
    public bool InDoubt { get; }
    /// <summary>True when the failure is the problem's own end: SAPI reported it FAILED or CANCELLED (no answer to wait for).</summary>
    public bool ProblemEnded { get; }

    public SapiException(SapiErrorKind kind, string message, int? statusCode = null, int? errorCode = null,
        TimeSpan? retryAfter = null, string? problemId = null, bool notSent = false, Exception? inner = null, bool inDoubt = false, bool problemEnded = false)
        : base(message, inner)
    {
        Kind = kind; StatusCode = statusCode; ErrorCode = errorCode; RetryAfter = retryAfter; ProblemId = problemId; NotSent = notSent;
        InDoubt = inDoubt && problemId is not null;
        ProblemEnded = problemEnded;
    }

    public bool IsRetryable => Kind is SapiErrorKind.Transient or SapiErrorKind.RateLimited;

    /// <summary>
    /// True only when the problem itself does not fit the solver: our pre-submit check refused it (graph, ranges,
    /// parameters), or SAPI rejected the submission with 400/413. A quota cap, a conflict or a malformed answer is
    /// BadProblem or Protocol for other reasons, and a "does not fit" hint would send the user the wrong way.
    /// </summary>
    public bool DoesNotFitSolver => this is SapiValidationException || Kind == SapiErrorKind.BadProblem && StatusCode is 400 or 413;
}

/// <summary>A problem failed validation against the solver before anything was sent.</summary>
public sealed class SapiValidationException(string message) : SapiException(SapiErrorKind.BadProblem, message);
