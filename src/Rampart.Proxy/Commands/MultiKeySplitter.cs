using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Pools;

namespace Rampart.Proxy.Commands;

/// <summary>
/// Splits MGET, MSET, DEL, UNLINK, EXISTS and TOUCH by the server that owns each key (as twemproxy does): one
/// request per server with that server's keys, in the client's order, merged back by <see cref="MultiKeyRequest"/>.
/// PUBSUB SHARDNUMSUB is split the same way by the server that owns each shard channel (hashed like a key).
/// </summary>
internal static class MultiKeySplitter
{
    /// <summary>
    /// Sends the command whole when every key lives on one server, else splits it; a key with no live server
    /// gets the client an error instead.
    /// </summary>
    public static void Dispatch(ClientSession session, PoolRouting routing, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        int step = command.Name == "mset" ? 2 : 1;
        int prefix = command.Parent is null ? 1 : 2; // the arguments before the first key: MGET, or PUBSUB SHARDNUMSUB
        int keys = (request.Count - prefix) / step;
        if (keys == 0)
        {
            CommandDispatcher.Forward(session, routing.Default, command, request, raw, inline); // PUBSUB SHARDNUMSUB alone: []
            return;
        }
        Span<int> ownerOfKey = keys <= 256 ? stackalloc int[keys] : new int[keys];
        int first = -1;
        bool spread = false;
        for (int k = 0; k < keys; k++)
        {
            int owner = routing.Router.ServerFor(request[prefix + k * step]);
            if (owner < 0)
            {
                session.ReplyError($"ERR rampart: pool '{session.Pool.Config.Name}' has no live server");
                return;
            }
            ownerOfKey[k] = owner;
            if (first < 0) first = owner;
            else if (owner != first) spread = true;
        }
        if (!spread)
        {
            CommandDispatcher.Forward(session, routing.Servers[first], command, request, raw, inline);
            return;
        }

        var parent = session.BeginLocal();
        var merge = command.Name switch
        {
            "mget" => MultiKeyRequest.MergeKind.Values,
            "mset" => MultiKeyRequest.MergeKind.Ok,
            "pubsub|shardnumsub" => MultiKeyRequest.MergeKind.Pairs,
            _ => MultiKeyRequest.MergeKind.Sum,
        };
        var multi = MultiKeyRequest.Rent(parent, merge);

        // Child index per server, and keys per child (for each child's array header).
        int servers = routing.Servers.Count;
        Span<int> childOfServer = servers <= 64 ? stackalloc int[servers] : new int[servers];
        Span<int> keysOfChild = servers <= 64 ? stackalloc int[servers] : new int[servers];
        Span<int> serverOfChild = servers <= 64 ? stackalloc int[servers] : new int[servers];
        childOfServer.Fill(-1);
        int children = 0;
        for (int k = 0; k < keys; k++)
        {
            int server = ownerOfKey[k];
            if (childOfServer[server] < 0)
            {
                serverOfChild[children] = server;
                childOfServer[server] = children++;
            }
            int child = childOfServer[server];
            keysOfChild[child]++;
            multi.AddKeyOwner(child);
        }

        for (int c = 0; c < children; c++)
        {
            var part = ProxyRequest.Rent(session);
            RespWriter.ArrayHeader(part.Payload, prefix + keysOfChild[c] * step);
            for (int a = 0; a < prefix; a++) RespWriter.Bulk(part.Payload, request[a]);
            multi.AddChild(part);
        }
        var parts = multi.Children;
        for (int k = 0; k < keys; k++)
        {
            var payload = parts[childOfServer[ownerOfKey[k]]].Payload;
            for (int a = 0; a < step; a++) RespWriter.Bulk(payload, request[prefix + k * step + a]);
        }

        multi.Arm();
        session.Pool.CountFragments(children);
        for (int c = 0; c < children; c++)
            session.ForwardPart(session.ConnectionTo(routing.Servers[serverOfChild[c]]), parts[c]);
    }
}
