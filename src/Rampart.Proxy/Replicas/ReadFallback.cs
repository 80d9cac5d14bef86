using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Replicas;

/// <summary>
/// A replica's fallback: a read it could not answer (the replica died, refused the connection, or stopped answering
/// and was dropped) goes to its master on the client's own connection, keeping its place in the client's reply order.
/// Only read-only commands reach a replica, so running one again is safe.
/// </summary>
internal sealed class ReadFallback(ServerEndpoint master) : IFailureFallback
{
    private long _resent;

    /// <summary>Reads sent on to the master after this replica failed them.</summary>
    public long Resent => Volatile.Read(ref _resent);

    public bool TryResend(ProxyRequest request)
    {
        if (request.Client is not ClientSession session || request.IsStreaming) return false;
        Interlocked.Increment(ref _resent);
        session.Loop.Post(() =>
        {
            var connection = session.ConnectionTo(master);
            connection.Enqueue(request);
            connection.Flush();
        });
        return true;
    }
}
