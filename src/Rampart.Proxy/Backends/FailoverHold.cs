namespace Rampart.Proxy.Backends;

/// <summary>
/// The failover hold of one server, as a deadline: from <see cref="Begin"/> until <see cref="End"/> or
/// <see cref="LimitMs"/> later, its requests wait instead of reaching a master that is being replaced. Only the
/// deadline lives here; failing or releasing what waited is the caller's (ServerEndpoint). Read on the injected clock.
/// </summary>
internal sealed class FailoverHold(TimeProvider time)
{
    /// <summary>Longest a failover may hold traffic; what waited longer gets -TRYAGAIN.</summary>
    public const int LimitMs = 5_000;

    // 0 when not holding: the request path reads no clock then.
    private long _untilMs;

    /// <summary>True from <see cref="Begin"/> until <see cref="End"/> or the limit passes.</summary>
    public bool IsHolding
    {
        get
        {
            long until = Volatile.Read(ref _untilMs);
            return until != 0 && time.NowMs() < until;
        }
    }

    /// <summary>Starts holding, unless it already is (the limit counts from the first start). True when it started.</summary>
    public bool Begin()
    {
        bool was = IsHolding;
        if (!was) Volatile.Write(ref _untilMs, time.NowMs() + LimitMs);
        return !was;
    }

    /// <summary>Ends the hold (expired or not); false when there was none to end.</summary>
    public bool End()
    {
        if (Volatile.Read(ref _untilMs) == 0) return false;
        Volatile.Write(ref _untilMs, 0);
        return true;
    }

    /// <summary>True when a hold is still set but its limit has passed at <paramref name="nowMs"/> (the sweep ends it).</summary>
    public bool HasExpired(long nowMs)
    {
        long until = Volatile.Read(ref _untilMs);
        return until != 0 && nowMs >= until;
    }
}
