using System.Buffers;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Pools;

namespace Rampart.Proxy.Commands;

/// <summary>
/// Splits MGET, MSET, DEL, UNLINK, EXISTS and TOUCH by the server that owns each key (as twemproxy does), or in a
/// Redis Cluster pool by each key's slot (a node refuses keys of two slots in one request): one request per
/// placement with its keys, in the client's order, merged back by <see cref="MultiKeyRequest"/>.
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
        // Each key's placement (its server, or in a cluster pool its slot): keys of one placement travel together.
        Span<int> placementOfKey = keys <= 256 ? stackalloc int[keys] : new int[keys];
        int first = -1;
        bool spread = false;
        for (int k = 0; k < keys; k++)
        {
            int placement = routing.PlacementOf(request[prefix + k * step]);
            if (routing.ServerOfPlacement(placement) is null)
            {
                session.Pool.CountForwardError();
                session.ReplyError(routing.NoServerError(session.Pool.Config.Name));
                return;
            }
            placementOfKey[k] = placement;
            if (first < 0) first = placement;
            else if (placement != first) spread = true;
        }
        if (!spread)
        {
            CommandDispatcher.Forward(session, routing.ServerOfPlacement(first)!, command, request, raw, inline);
            return;
        }
        Split(session, routing, command, request, placementOfKey, prefix, step);
    }

    /// <summary>One child request per placement, with that placement's keys in the client's order, merged by the parent.</summary>
    private static void Split(ClientSession session, PoolRouting routing, CommandInfo command, Request request, ReadOnlySpan<int> placementOfKey,
        int prefix, int step)
    {
        int keys = placementOfKey.Length;
        var parent = session.BeginLocal();
        var merge = command.Name switch
        {
            "mget" => MultiKeyRequest.MergeKind.Values,
            "mset" => MultiKeyRequest.MergeKind.Ok,
            "pubsub|shardnumsub" => MultiKeyRequest.MergeKind.Pairs,
            _ => MultiKeyRequest.MergeKind.Sum,
        };
        var multi = MultiKeyRequest.Rent(parent, merge);

        // Child index per placement (a pooled array in a cluster pool: 16384 slots), and keys and placement per child.
        int placements = routing.PlacementCount;
        int[]? rented = placements <= 64 ? null : ArrayPool<int>.Shared.Rent(placements);
        Span<int> childOfPlacement = rented is null ? stackalloc int[placements] : rented;
        int most = Math.Min(keys, placements);
        Span<int> keysOfChild = most <= 64 ? stackalloc int[most] : new int[most];
        Span<int> placementOfChild = most <= 64 ? stackalloc int[most] : new int[most];
        for (int k = 0; k < keys; k++) childOfPlacement[placementOfKey[k]] = -1;
        int children = 0;
        for (int k = 0; k < keys; k++)
        {
            int placement = placementOfKey[k];
            if (childOfPlacement[placement] < 0)
            {
                placementOfChild[children] = placement;
                childOfPlacement[placement] = children++;
            }
            int child = childOfPlacement[placement];
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
            var payload = parts[childOfPlacement[placementOfKey[k]]].Payload;
            for (int a = 0; a < step; a++) RespWriter.Bulk(payload, request[prefix + k * step + a]);
        }

        if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        multi.Arm();
        session.Pool.CountFragments(children);
        bool durableWrite = command.IsWrite && session.Pool.Config.WritesDurably; // MSET, DEL, UNLINK, TOUCH
        for (int c = 0; c < children; c++)
        {
            parts[c].AwaitsReplicas = durableWrite;
            session.ForwardPart(session.ConnectionTo(routing.ServerOfPlacement(placementOfChild[c])!, durableWrite: durableWrite), parts[c]);
        }
    }
}
