using Rampart.Protocol;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// What holds a client's dedicated server connection, and so sees every request of that client first: a
/// <see cref="PinnedSession"/> while it has connection state (a transaction, a WATCH, subscriptions, a blocking call),
/// or a <see cref="PassThroughSession"/> once the connection is the client's whole (CLIENT TRACKING, MONITOR).
/// </summary>
internal interface IClientPin
{
    /// <summary>Every request of the client (on its read loop).</summary>
    PinnedResult Dispatch(Request request, ReadOnlySpan<byte> raw, bool inline);

    /// <summary>Sends what this read's requests queued, in one write (once per read).</summary>
    void FlushSends();

    /// <summary>The client disconnected (any thread).</summary>
    void OnClientClosed();

    /// <summary>What CLIENT LIST shows of the client's connection state (a snapshot, never used for a decision).</summary>
    (bool InMulti, int Queued, int Channels, int Patterns, int ShardChannels, bool Blocked) Describe();

    /// <summary>CLIENT UNBLOCK of this client: where its blocking call is out, or null (see PinnedSession.MarkForUnblock).</summary>
    (ServerEndpoint Server, long ServerClientId)? MarkForUnblock();

    /// <summary>
    /// Another client's CLIENT TRACKING ... REDIRECT names this client: the server-side id of its dedicated connection
    /// to <paramref name="server"/>, marked never to be lent again (the invalidations would follow it), or null.
    /// </summary>
    long? RedirectTargetOn(ServerEndpoint server);
}
