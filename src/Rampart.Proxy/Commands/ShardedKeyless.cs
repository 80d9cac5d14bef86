using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Commands;

/// <summary>
/// Commands without keys in a pool of several servers: sent to every server where the combined answer is well
/// defined (DBSIZE sums; FLUSHALL/FLUSHDB only with <c>allow_flush: true</c>), sent to the first server where every
/// server gives the same answer (COMMAND, TIME), sent to the first server where plain pub/sub lives (PUBLISH,
/// PUBSUB CHANNELS/NUMSUB/NUMPAT), and refused with the reason otherwise (INFO, KEYS, SCAN, ...),
/// rather than answering for one server as if it were the whole pool.
/// </summary>
internal static class ShardedKeyless
{
    public static void Dispatch(ClientSession session, PoolRouting routing, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        string name = command.Parent?.Name ?? command.Name;
        switch (name)
        {
            case "dbsize":
                FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.Sum);
                return;
            case "flushall" or "flushdb":
                if (session.Pool.Config.AllowFlush)
                    FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.Ok);
                else
                    session.ReplyError($"ERR rampart: '{command.DisplayName}' would empty all {routing.Servers.Count} servers of pool '{session.Pool.Config.Name}'; set 'allow_flush: true' on the pool to allow it");
                return;
            case "command" or "time" or "lolwut":
                CommandDispatcher.Forward(session, routing.Default, request, raw, inline);
                return;
            case "publish":
            case "pubsub" when command.Name is "pubsub|channels" or "pubsub|numsub" or "pubsub|numpat" or "pubsub|help":
                // Plain pub/sub lives on the pool's first server, where SUBSCRIBE and PSUBSCRIBE go too
                // (docs/configuration.md, "Pub/sub in a pool of several servers").
                CommandDispatcher.Forward(session, routing.Default, request, raw, inline);
                return;
            default:
                session.ReplyError($"ERR rampart: '{command.DisplayName}' names no key, so no single server of pool '{session.Pool.Config.Name}' ({routing.Servers.Count} servers) can answer it for the whole pool; ask a server directly");
                return;
        }
    }

    private static void FanOut(ClientSession session, PoolRouting routing, ReadOnlySpan<byte> raw, bool inline, Request request, MultiKeyRequest.MergeKind merge)
    {
        var parent = session.BeginLocal();
        var multi = MultiKeyRequest.Rent(parent, merge);
        for (int s = 0; s < routing.Servers.Count; s++)
        {
            var part = ProxyRequest.Rent(session);
            if (inline)
            {
                RespWriter.ArrayHeader(part.Payload, request.Count);
                for (int i = 0; i < request.Count; i++) RespWriter.Bulk(part.Payload, request[i]);
            }
            else part.Payload.Write(raw);
            multi.AddChild(part);
        }
        multi.Arm();
        session.Pool.CountFragments(routing.Servers.Count);
        var parts = multi.Children;
        for (int s = 0; s < parts.Count; s++) session.ForwardPart(routing.Servers[s].ConnectionFor(session.Id), parts[s]);
    }
}
