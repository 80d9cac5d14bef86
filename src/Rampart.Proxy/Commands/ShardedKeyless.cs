using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Pools;

namespace Rampart.Proxy.Commands;

/// <summary>
/// Commands without keys in a pool of several servers: sent to every server where the combined answer is well
/// defined (DBSIZE sums; INFO merged section by section, see InfoMerge; KEYS the union; FLUSHALL/FLUSHDB only with
/// <c>allow_flush: true</c>), walked server by server (SCAN, see ShardedScan), sent to the first server where every
/// server gives the same answer (COMMAND, TIME, ACL CAT, every HELP subcommand), sent
/// to the first server where plain pub/sub lives (PUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT), asked of the servers that
/// own shard channels (PUBSUB SHARDCHANNELS: every server, the union; SHARDNUMSUB: split by channel, like MGET), and
/// refused with the reason otherwise (RANDOMKEY, CONFIG GET, ...),
/// rather than answering for one server as if it were the whole pool.
/// Scripts and functions: SCRIPT LOAD/EXISTS/FLUSH and FUNCTION LOAD/DELETE/FLUSH/RESTORE/LIST/DUMP go to every
/// server, so a script or library loaded through Rampart can run wherever its keys live; EVAL/EVALSHA/FCALL (and the
/// _RO forms) with no keys run on the pool's designated server, the first one listed, always the same one.
/// </summary>
internal static class ShardedKeyless
{
    public static void Dispatch(ClientSession session, PoolRouting routing, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (TryDispatchScripting(session, routing, command, request, raw, inline)) return;
        if (session.Pool.Commands.AllowedByRule(command) && AdministrationMerge(command) is { } merge)
        {
            if (command.ChangesPause)
                foreach (var server in routing.Servers) CommandDispatcher.NotePause(server, command, request);
            FanOut(session, routing, raw, inline, request, merge, command.RunsBesideBusyCalls, durable: DurableWrite(session, command));
            return;
        }
        string name = command.Parent?.Name ?? command.Name;
        switch (name)
        {
            case "dbsize":
                FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.Sum);
                return;
            case "info":
                FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.Info, info: InfoFacts.Of(session.Pool));
                return;
            case "keys":
                // Every key lives on one server: the pool's keys are the union of the servers' (each once).
                FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.Union);
                return;
            case "scan":
                ShardedScan.Dispatch(session, routing.Servers, request);
                return;
            case "flushall" or "flushdb":
                if (session.Pool.Config.AllowFlush || session.Pool.Commands.AllowedByRule(command))
                    FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.Ok, durable: DurableWrite(session, command));
                else
                    session.ReplyError($"ERR rampart: '{command.DisplayName}' would empty all {routing.Servers.Count} servers of pool '{session.Pool.Config.Name}'; set 'allow_flush: true' on the pool to allow it");
                return;
            case "command" or "time" or "lolwut":
            case "acl" when command.Name is "acl|cat":
            case not null when command.Name.EndsWith("|help", StringComparison.Ordinal):
                // Every server of the same version gives the same text: its command table, its categories, its help.
                CommandDispatcher.Forward(session, routing.Default, command, request, raw, inline);
                return;
            case "publish":
            case "pubsub" when command.Name is "pubsub|channels" or "pubsub|numsub" or "pubsub|numpat" or "pubsub|help":
                // Plain pub/sub lives on the pool's first server, where SUBSCRIBE and PSUBSCRIBE go too
                // (docs/configuration.md, "Pub/sub in a pool of several servers").
                CommandDispatcher.Forward(session, routing.Default, command, request, raw, inline);
                return;
            case "pubsub" when command.Name is "pubsub|shardchannels":
                // Shard channels live on the server that owns their name: the pool's list is every server's.
                FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.Union);
                return;
            case "cluster" when routing.IsCluster && command.Name is "cluster|countkeysinslot" or "cluster|getkeysinslot":
                ForwardBySlotArgument(session, routing, command, request, raw, inline);
                return;
            case "pubsub" when command.Name is "pubsub|shardnumsub":
                MultiKeySplitter.Dispatch(session, routing, command, request, raw, inline);
                return;
            default:
                session.ReplyError($"ERR rampart: '{command.DisplayName}' names no key, so no single server of pool '{session.Pool.Config.Name}' ({routing.Servers.Count} servers) can answer it for the whole pool; ask a server directly");
                return;
        }
    }

    /// <summary>
    /// CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT name a slot, not a key: the master serving that slot answers. A slot
    /// that is not one (not a number, out of range) goes to any master, so the client gets Redis's own error for it.
    /// </summary>
    private static void ForwardBySlotArgument(ClientSession session, PoolRouting routing, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        bool isSlot = System.Buffers.Text.Utf8Parser.TryParse(request[2], out int slot, out int used) && used == request[2].Length
                      && slot >= 0 && slot < ClusterSlot.Count;
        if (!isSlot)
            CommandDispatcher.Forward(session, routing.Default, command, request, raw, inline);
        else if (routing.ServerOfPlacement(slot) is { } owner)
            CommandDispatcher.Forward(session, owner, command, request, raw, inline);
        else
            session.ReplyError(routing.NoServerError(session.Pool.Config.Name));
    }

    /// <summary>
    /// Scripts and functions in a pool of several servers. Returns false for anything else. A keyless script call
    /// goes to <see cref="PoolRouting.Default"/> (the first server listed): scripts must declare the keys they touch
    /// (as Redis Cluster requires), so a script without keys may only compute, and any one server would do; one fixed
    /// server keeps it predictable, and when that server is down such calls fail rather than move.
    /// </summary>
    private static bool TryDispatchScripting(ClientSession session, PoolRouting routing, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        switch (command.Name)
        {
            case "eval" or "evalsha" or "eval_ro" or "evalsha_ro" or "fcall" or "fcall_ro":
                CommandDispatcher.Forward(session, routing.Default, command, request, raw, inline);
                return true;
            case "script|load" or "function|load" or "function|dump":
                FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.Same, durable: DurableWrite(session, command));
                return true;
            case "function|list":
                FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.SameUpToOrder);
                return true;
            case "script|kill" or "function|kill":
                // Sent to every server on its control connection: the busy one answers +OK, the others NOTBUSY.
                FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.AnyOk, control: true);
                return true;
            case "script|exists":
                FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.AllOf);
                return true;
            case "script|flush" or "function|flush" or "function|delete" or "function|restore":
                FanOut(session, routing, raw, inline, request, MultiKeyRequest.MergeKind.Ok, durable: DurableWrite(session, command));
                return true;
            case "script|help" or "function|help":
                CommandDispatcher.Forward(session, routing.Default, command, request, raw, inline);
                return true;
            default:
                return false; // SCRIPT KILL, FUNCTION KILL/STATS are about one server's running script: refused below
        }
    }

    /// <summary>
    /// Administrative commands a pool's <c>commands: allow</c> let through, in a pool of several servers: sent to
    /// every server where the pool's answer is well defined (CONFIG SET is +OK only if every server said +OK; ACL
    /// DELUSER counts over all; BGSAVE's status line must be the same everywhere). Null for the rest (SHUTDOWN,
    /// REPLICAOF, FAILOVER, CLUSTER ...: one server's act, with no pool-wide meaning), refused below.
    /// </summary>
    private static MultiKeyRequest.MergeKind? AdministrationMerge(CommandInfo command) => command.Name switch
    {
        "config|set" or "config|rewrite" or "config|resetstat" or "slowlog|reset" or "save" or "swapdb"
            or "client|pause" or "client|unpause" or "module|load" or "module|loadex" or "module|unload"
            or "acl|setuser" or "acl|load" or "acl|save" => MultiKeyRequest.MergeKind.Ok,
        "acl|deluser" or "latency|reset" => MultiKeyRequest.MergeKind.Sum,
        "bgsave" or "bgrewriteaof" or "debug" => MultiKeyRequest.MergeKind.Same,
        _ => null,
    };

    /// <summary>A write sent to every server in a pool with <c>min_replicas_ack</c>: each part waits for its server's replicas.</summary>
    private static bool DurableWrite(ClientSession session, CommandInfo command) => command.MayWrite && session.Pool.Config.WritesDurably;

    private static void FanOut(ClientSession session, PoolRouting routing, ReadOnlySpan<byte> raw, bool inline, Request request,
        MultiKeyRequest.MergeKind merge, bool control = false, InfoFacts? info = null, bool durable = false)
    {
        var parent = session.BeginLocal();
        var multi = MultiKeyRequest.Rent(parent, merge);
        multi.Info = info;
        for (int s = 0; s < routing.Servers.Count; s++)
        {
            var part = ProxyRequest.Rent(session);
            if (inline)
            {
                RespWriter.ArrayHeader(part.Payload, request.Count);
                for (int i = 0; i < request.Count; i++) RespWriter.Bulk(part.Payload, request[i]);
            }
            else part.Payload.Write(raw);
            part.AwaitsReplicas = durable;
            multi.AddChild(part);
        }
        multi.Arm();
        session.Pool.CountFragments(routing.Servers.Count);
        var parts = multi.Children;
        for (int s = 0; s < parts.Count; s++)
        {
            var server = routing.Servers[s];
            session.ForwardPart(control ? session.ControlConnectionTo(server) : session.ConnectionTo(server, durableWrite: durable), parts[s]);
        }
    }
}
