using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Commands;
using Rampart.Proxy.Pools;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// Which server a pinned client's command belongs to: every key of it must live on one server, since a dedicated
/// connection reaches only one. Reads the pool's routing snapshot once per question, as the shared path does.
/// </summary>
internal static class PinRouting
{
    public const string CrossSlot = "CROSSSLOT Keys in request don't hash to the same slot";

    /// <summary>
    /// The server owning every key of the request (the pool's first server for a keyless one, or in a pool of one);
    /// null when found, else the error to reply: keys the command cannot name, keys on two servers, no live server.
    /// </summary>
    public static string? OwnerOf(PoolRuntime pool, CommandInfo command, Request request, out ServerEndpoint owner)
    {
        var routing = pool.Routing;
        owner = routing.Default;
        if (routing.IsSingleServer) return null;
        if (!command.TryGetKeys(request, out var keys)) return KeyErrorMessages.For(command, keys.Error);
        int placement = -1;
        foreach (int index in keys)
        {
            int next = routing.PlacementOf(request[index]);
            if (placement >= 0 && next != placement) return CrossSlot;
            placement = next;
        }
        if (keys.Count == 0) return null;
        if (routing.ServerOfPlacement(placement) is not { } found) return routing.NoServerError(pool.Config.Name);
        owner = found;
        return null;
    }

    /// <summary>
    /// Where a subscription lives in a pool of several servers: shard channels (SSUBSCRIBE/SPUBLISH) on the server
    /// their name hashes to, like keys; plain channels and patterns (SUBSCRIBE/PSUBSCRIBE/PUBLISH) on the pool's first
    /// server, the one place where every publisher and every pattern subscriber meet. In a cluster every node hears every
    /// PUBLISH, so a subscriber already on a node (<paramref name="current"/>, where its shard channels took it) keeps
    /// its plain channels and patterns there. Null when found, else the error.
    /// </summary>
    public static string? ChannelServerOf(PoolRuntime pool, CommandInfo command, Request request, out ServerEndpoint server, ServerEndpoint? current = null)
    {
        if (command.Name == "ssubscribe") return OwnerOf(pool, command, request, out server);
        var routing = pool.Routing;
        server = routing.IsCluster && current is not null ? current : routing.Default;
        return null;
    }

    /// <summary>True when every key of the request lives on <paramref name="server"/> (in a pool of one: it is the pool's).</summary>
    public static bool KeysOn(PoolRuntime pool, CommandInfo command, Request request, ServerEndpoint? server)
    {
        var routing = pool.Routing;
        if (routing.IsSingleServer) return ReferenceEquals(routing.Default, server);
        if (!command.TryGetKeys(request, out var keys)) return false;
        foreach (int index in keys)
            if (!ReferenceEquals(routing.ServerFor(request[index]), server)) return false;
        return true;
    }
}
