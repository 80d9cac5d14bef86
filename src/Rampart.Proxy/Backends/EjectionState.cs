namespace Rampart.Proxy.Backends;

/// <summary>
/// twemproxy's server_failure rule for one server: with <c>auto_eject_hosts</c>, <c>server_failure_limit</c>
/// consecutive failures (failed connects, lost connections, timeouts, requests refused in backoff) take the server out
/// of the key distribution for <c>server_retry_timeout</c> ms; then it is tried again with real traffic. A successful
/// connect clears the count. Deadlines are read on the injected clock.
/// </summary>
internal sealed class EjectionState(TimeProvider time)
{
    private readonly Lock _lock = new();
    private int _failures;
    private long _ejectedUntilMs;

    /// <summary>True while the server is kept out of the key distribution.</summary>
    public bool IsEjected => time.NowMs() < Volatile.Read(ref _ejectedUntilMs);

    /// <summary>
    /// Counts one failure; true when it is the one that ejects the server (the count then starts again). Failures while
    /// ejected are not counted: they are requests that were in flight, or other connections to the server failing, and
    /// belong to the ejection already made. nutcracker counts one ejection per retry period in the same way (traffic
    /// stops going to an ejected server); counting them ejected a dead server again and again, logging each time.
    /// </summary>
    public bool CountFailure(int failureLimit, int retryTimeoutMs)
    {
        // Off the request path (failures only): a lock keeps concurrent failures from ejecting twice.
        lock (_lock)
        {
            if (IsEjected) return false;
            if (++_failures < failureLimit) return false;
            _failures = 0;
            Volatile.Write(ref _ejectedUntilMs, time.NowMs() + retryTimeoutMs);
            return true;
        }
    }

    /// <summary>A connect succeeded: failures toward ejection start from zero.</summary>
    public void OnConnected()
    {
        lock (_lock) _failures = 0;
    }
}
