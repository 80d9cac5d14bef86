namespace Rampart.Proxy.Clients;

/// <summary>
/// How often each limit against abuse acted on a pool's clients, since start (the stats, <c>/metrics</c>'s
/// <c>rampart_clients_limited_total{limit=...}</c> and the dashboard). Written with Interlocked off the request path.
/// </summary>
internal sealed class ClientLimitCounters
{
    private long _idleClosed;
    private long _authTimeoutClosed;
    private long _perIpRejected;
    private long _requestTooLarge;
    private long _authFailed;
    private long _authDelayed;

    public void IdleClosed() => Interlocked.Increment(ref _idleClosed);
    public void AuthTimeoutClosed() => Interlocked.Increment(ref _authTimeoutClosed);
    public void PerIpRejected() => Interlocked.Increment(ref _perIpRejected);
    public void RequestTooLarge() => Interlocked.Increment(ref _requestTooLarge);
    public void AuthFailed() => Interlocked.Increment(ref _authFailed);
    public void AuthDelayed() => Interlocked.Increment(ref _authDelayed);

    public Observability.ClientLimitSnapshot Snapshot() => new(
        Interlocked.Read(ref _idleClosed), Interlocked.Read(ref _authTimeoutClosed), Interlocked.Read(ref _perIpRejected),
        Interlocked.Read(ref _requestTooLarge), Interlocked.Read(ref _authFailed), Interlocked.Read(ref _authDelayed));
}
