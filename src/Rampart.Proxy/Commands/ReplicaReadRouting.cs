using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Commands;

/// <summary>
/// <c>read_from</c> on the shared path: a command the command table marks read-only may go to one of its master's
/// eligible replicas; everything else goes to the master. (Transactions, blocking calls and subscriptions never come
/// here: they run on dedicated connections to the master. EVAL and FCALL are not read-only; EVAL_RO and FCALL_RO are.)
/// Among the eligible replicas the one with the fewest requests outstanding wins (<c>nearest</c>: the fastest to
/// answer the last check, the master included). With read-your-writes, a client whose write is unanswered, or whose
/// last write a replica may not have yet (<see cref="ReplicationClock"/>), reads from the master.
/// </summary>
internal static class ReplicaReadRouting
{
    /// <summary>Where the read goes; null when it must fail (read_from replica, no eligible replica), with the error replied.</summary>
    public static ServerEndpoint? TargetOf(ClientSession session, ServerEndpoint master, CommandInfo command)
    {
        var config = session.Pool.Config;
        if (!command.IsReadOnly || UsesCursor(command)) return master;
        var reads = master.ReadReplicas;
        var eligible = reads.Eligible;
        long needed = config.ReadYourWrites ? session.ReadGenerationNeeded : 0;
        ReplicaTarget? best = null;
        long bestLoad = long.MaxValue;
        bool behindWrites = false;
        // Start at a rotating place, so replicas with equal loads (idle, unpipelined clients) share the reads.
        int start = eligible.Length == 0 ? 0 : session.NextReadRotation() % eligible.Length;
        for (int i = 0; i < eligible.Length; i++)
        {
            var replica = eligible[(start + i) % eligible.Length];
            if (replica.Endpoint.IsDown) continue; // failed since its last check: it is about to be excluded
            if (replica.ConfirmedGeneration < needed)
            {
                behindWrites = true;
                continue;
            }
            long load = config.ReadFrom == ReadFrom.Nearest ? replica.LatencyMicros : replica.Outstanding;
            if (load < bestLoad)
            {
                best = replica;
                bestLoad = load;
            }
        }
        if (config.ReadFrom == ReadFrom.Nearest && (best is null || reads.MasterLatencyMicros <= bestLoad)) return master;
        if (best is not null)
        {
            best.CountRead();
            return best.Endpoint;
        }
        // read_from replica: with no eligible replica the read fails with the reason; a client's own fresh write sends
        // it to the master instead (read-your-writes comes first).
        if (config.ReadFrom == ReadFrom.Replica && !behindWrites)
        {
            session.ReplyError($"ERR rampart: no replica can serve reads for '{master.Label}' (read_from replica): {reads.NoneReason}");
            return null;
        }
        return master;
    }

    /// <summary>A cursor is a position in one node's hash table: the next call must reach the same node, the master.</summary>
    private static bool UsesCursor(CommandInfo command) => command.Name is "scan" or "sscan" or "hscan" or "zscan";
}
