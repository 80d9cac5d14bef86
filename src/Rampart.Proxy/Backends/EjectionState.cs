namespace Rampart.Proxy.Backends;

/// <summary>
/// twemproxy's server_failure rule for one server: with <c>auto_eject_hosts</c>, <c>server_failure_limit</c>
/// consecutive failures (failed connects, lost connections, timeouts, requests refused in backoff) take the server out
/// of the key distribution for <c>server_retry_timeout</c> ms; then it is tried again with real traffic. A successful
/// connect clears the count. Deadlines are read on the injected clock.
/// </summary>
internal sealed class EjectionState(TimeProvider time)
{
    private int _failures;
    private long _ejectedUntilMs;

    /// <summary>True while the server is kept out of the key distribution.</summary>
    public bool IsEjected => time.NowMs() < Volatile.Read(ref _ejectedUntilMs);

    /// <summary>Counts one failure; true when it is the one that ejects the server (the count then starts again).</summary>
    public bool CountFailure(int failureLimit, int retryTimeoutMs)
    {
        if (Interlocked.Increment(ref _failures) < failureLimit) return false;
        Volatile.Write(ref _failures, 0);
        Volatile.Write(ref _ejectedUntilMs, time.NowMs() + retryTimeoutMs);
        return true;
    }

    /// <summary>A connect succeeded: failures toward ejection start from zero.</summary>
    public void OnConnected() => Volatile.Write(ref _failures, 0);
}
