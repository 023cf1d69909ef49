using System.Globalization;

namespace QaActors.Orchestration.Gateway;

/// <summary>
/// The label every problem of a reserved QPU call carries at the QPU (SAPI's problem <c>label</c>). It is made from
/// what the ledger persists (reservation id and time), so any later gateway can list the call's problems by it after
/// the gateway that made the call was lost. The time keeps the labels of a fresh journal, whose ids start at 1 again,
/// apart from those of an older one on the same account.
/// </summary>
public static class QuotaLabels
{
    public const string Prefix = "qaactors-reservation-";

    public static string For(long reservationId, DateTimeOffset reservedAt) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{reservationId}-{reservedAt.ToUnixTimeMilliseconds()}");
}
