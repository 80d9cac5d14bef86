namespace Rampart.Proxy.Backends;

/// <summary>
/// Whether a server may be dialled now. After a failed connect it is unavailable for a <see cref="Backoff.Reconnect"/>
/// wait that doubles with each failure in a row, and its requests fail at once with the reason instead of waiting for
/// a connect that would fail too; a successful connect resets the count. Deadlines are read on the injected clock.
/// </summary>
internal sealed class ReconnectBackoff(TimeProvider time)
{
    private int _failures;
    // 0 once the wait is known to be over, so the request path reads no clock while the server is up.
    private long _retryAtMs;
    private string? _reason;

    /// <summary>Failed connects in a row (0 once one succeeded).</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>The error of the last failed connect (kept after the wait, for the admin API's "down" reason).</summary>
    public string? Reason => Volatile.Read(ref _reason);

    /// <summary>True while the wait after the last failed connect lasts: requests fail at once.</summary>
    public bool IsWaiting
    {
        get
        {
            long retryAt = Volatile.Read(ref _retryAtMs);
            if (retryAt == 0) return false;
            if (time.NowMs() < retryAt) return true;
            // Over, and it stays over (the clock is monotonic) until the next failure sets a new deadline.
            Interlocked.CompareExchange(ref _retryAtMs, 0, retryAt);
            return false;
        }
    }

    /// <summary>True when the server is down and its wait is over at <paramref name="nowMs"/>: time to try again.</summary>
    public bool IsDueForRetry(long nowMs) => Failures > 0 && nowMs >= Volatile.Read(ref _retryAtMs);

    /// <summary>Counts a failed connect and starts its wait; returns how many connects in a row have failed.</summary>
    public int OnFailed(string reason)
    {
        int failures = Interlocked.Increment(ref _failures);
        Volatile.Write(ref _reason, reason);
        Volatile.Write(ref _retryAtMs, time.NowMs() + Backoff.Reconnect.DelayMs(failures));
        return failures;
    }

    /// <summary>A connect succeeded: the next failure waits the first step again.</summary>
    public void OnConnected() => Volatile.Write(ref _failures, 0);

    /// <summary>A new address (a newly confirmed master): no wait, and the count starts again.</summary>
    public void Reset()
    {
        Volatile.Write(ref _retryAtMs, 0);
        Volatile.Write(ref _failures, 0);
    }
}
