namespace Rampart.Proxy.Backends;

/// <summary>
/// Takes over requests a server could not answer (its connection was lost, refused, or dropped on purpose) instead
/// of failing them. A replica's reads use it (Replicas.ReadFallback): a read is safe to run again, so one caught on a
/// replica that died or stopped answering goes to the master, and its client never sees the replica's trouble.
/// Backends knows only this interface, not the client or the pool behind it.
/// </summary>
internal interface IFailureFallback
{
    /// <summary>True when the fallback took the request (it will complete it); false: fail it as usual.</summary>
    bool TryResend(ProxyRequest request);
}
