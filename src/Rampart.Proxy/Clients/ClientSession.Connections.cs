using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Clients;

/// <summary>Which of a server's connections this client's requests take (the server side only offers them).</summary>
internal sealed partial class ClientSession
{
    /// <summary>
    /// The connection this client uses for <paramref name="server"/>: its shared one, or the detour lane's while the
    /// server holds the shared one (<see cref="ServerConnection.IsStalled"/>: another client's busy script or paused
    /// write) or when <paramref name="mayBePaused"/> says its command would wait for a pause sent through Rampart
    /// (<see cref="ServerEndpoint.HoldsWhilePaused"/>). On the detour lane Redis answers it as it would directly (often
    /// <c>-BUSY</c>). It stays there until its replies are all in, so its requests never run out of order: the lane
    /// is chosen only when nothing of the client's is in flight anywhere.
    /// </summary>
    public ServerConnection ConnectionTo(ServerEndpoint server, bool mayBePaused = false, bool durableWrite = false)
    {
        var shared = server.SharedConnection(Loop.Index, Id, Resp3);
        if (!HasPendingReplies)
        {
            OnDetour = mayBePaused || shared.IsStalled();
            OnDurableLane = durableWrite;
        }
        return OnDetour ? server.DetourConnection(Loop.Index, Resp3) : OnDurableLane ? server.DurableConnection(Loop.Index, Resp3) : shared;
    }

    /// <summary>
    /// True while this client's requests take the durable lane (<c>min_replicas_ack</c>): from a write sent with nothing
    /// in flight until its replies are all in, so what it pipelines behind a write keeps its order.
    /// </summary>
    public bool OnDurableLane;

    /// <summary>The control connection to <paramref name="server"/>, for a command that ends a busy call.</summary>
    public ServerConnection ControlConnectionTo(ServerEndpoint server) => server.ControlConnection(Loop.Index, Resp3);

    /// <summary>True when this client's shared connection to <paramref name="server"/> is held by the server.</summary>
    public bool SharedConnectionStalled(ServerEndpoint server) => server.SharedConnection(Loop.Index, Id, Resp3).IsStalled();
}
