using System.Net;
using Microsoft.Extensions.Logging;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Replicas;

/// <summary>
/// One master's replicas for <c>read_from</c>: which exist (the pool's <c>replicas:</c> list, or those the master
/// lists in ROLE), and at each check which may serve reads. A replica is excluded while it does not answer, while its
/// link to the master is down, while it is more than <c>max_replica_lag</c> ms behind, or while the master does not
/// answer as a master; the eligible ones are published whole on the master's endpoint. A replica that leaves the set
/// has its connections dropped, so the reads it held go to the master (<see cref="ReadFallback"/>) instead of waiting.
/// </summary>
internal sealed partial class ShardReplicas(PoolConfig pool, ServerEndpoint master, Func<ServerConfig, ServerEndpoint> newEndpoint,
    RoleProbe probe, ILogger logger, Observability.TopologyEventLog events, TimeProvider time)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ReplicaTarget> _replicas = new(StringComparer.OrdinalIgnoreCase);
    private readonly OffsetHistory _history = new(keepMs: Math.Max(2L * pool.MaxReplicaLagMs, 2_000));
    private EndPoint? _masterSeen;

    public ServerEndpoint Master => master;

    /// <summary>Every replica endpoint made so far (the pool sweeps their timeouts and closes them).</summary>
    public IEnumerable<ReplicaTarget> Replicas => _replicas.Values;

    public async Task CheckAsync(CancellationToken stop)
    {
        if (master.Address is not { } address)
        {
            Publish([], master.UnavailableReason ?? "no confirmed master", long.MaxValue);
            return;
        }
        if (!address.Equals(_masterSeen))
        {
            _history.Clear(); // another master: its offsets are another history
            _masterSeen = address;
        }
        long generation = ReplicationClock.Next(); // before the master's offset is read (see ReplicationClock)
        var role = await probe.AskAsync(address, stop);
        if (role.Kind != "master")
        {
            Publish([], $"master {master.Label} does not answer ROLE as a master ({role.NoAnswer ?? role.Kind})", long.MaxValue);
            return;
        }
        long now = time.NowMs();
        long masterOffset = role.Role!.Items.Count > 1 ? role.Role.Items[1].Integer : 0;
        _history.Add(now, masterOffset);

        var candidates = Candidates(role.Role);
        var checks = candidates.Select(target => CheckReplicaAsync(target, masterOffset, generation, now, stop)).ToArray();
        await Task.WhenAll(checks);
        var eligible = candidates.Where(t => t.ExcludedBecause is null).ToArray();
        string why = candidates.Count == 0 ? $"master {master.Label} has no replica" : $"no replica of {master.Label} is eligible ({string.Join("; ", candidates.Select(c => $"{c.Endpoint.Endpoint}: {c.ExcludedBecause}"))})";
        Publish(eligible, why, role.RoundTripMicros);
    }

    /// <summary>The pool's listed replicas, or those the master lists in ROLE (["master", offset, [[ip, port, offset], ...]]).</summary>
    private List<ReplicaTarget> Candidates(Rampart.Protocol.RespValue role)
    {
        var candidates = new List<ReplicaTarget>();
        if (pool.Replicas.Count > 0)
        {
            foreach (var replica in pool.Replicas) candidates.Add(TargetFor(replica));
            return candidates;
        }
        if (role.Items.Count > 2)
            foreach (var replica in role.Items[2].Items)
                if (replica.Items.Count >= 2 && int.TryParse(replica.Items[1].Text, out int port) && replica.Items[0].Text is { Length: > 0 } host)
                    candidates.Add(TargetFor(new ServerConfig { Host = host, Port = port }));
        // Replicas the master no longer lists are not asked; they keep their connections for what is in flight.
        foreach (var gone in _replicas.Values.Except(candidates).Where(t => t.ExcludedBecause is null).ToList())
            Exclude(gone, "no longer listed by the master");
        return candidates;
    }

    private ReplicaTarget TargetFor(ServerConfig replica)
    {
        if (_replicas.TryGetValue(replica.Endpoint, out var known)) return known;
        var target = new ReplicaTarget(newEndpoint(replica)) { ExcludedBecause = "not checked yet" };
        _replicas[replica.Endpoint] = target;
        return target;
    }

    private async Task CheckReplicaAsync(ReplicaTarget target, long masterOffset, long generation, long now, CancellationToken stop)
    {
        if (target.Endpoint.Address is not { } address)
        {
            Exclude(target, "no address");
            return;
        }
        var answer = await probe.AskAsync(address, stop);
        // ROLE of a replica: ["slave", master host, master port, link state, processed offset].
        var items = answer.Role?.Items;
        string? why = answer.NoAnswer is { } none ? $"unreachable ({none})"
            : answer.Kind != "slave" ? $"not a replica (ROLE {answer.Kind})"
            : items!.Count < 5 ? "an incomplete ROLE reply"
            : items[3].Text != "connected" ? $"link to its master is {items[3].Text}"
            : null;
        if (why is null)
        {
            long offset = items![4].Integer;
            target.LagMs = _history.LagMs(now, offset);
            target.LatencyMicros = answer.RoundTripMicros;
            if (offset >= masterOffset) target.Confirm(generation);
            if (target.LagMs > pool.MaxReplicaLagMs) why = $"{target.LagMs} ms behind its master (max_replica_lag {pool.MaxReplicaLagMs})";
        }
        if (why is null) Admit(target);
        else Exclude(target, why);
    }

    private void Admit(ReplicaTarget target)
    {
        if (target.ExcludedBecause is null) return;
        target.ResetOutstanding();
        target.ExcludedBecause = null;
        LogAdmitted(pool.Name, target.Endpoint.Endpoint, master.Endpoint);
        events.Add(pool.Name, "replica admitted", target.Endpoint.Endpoint, $"serves reads for {master.Label}");
    }

    private void Exclude(ReplicaTarget target, string why)
    {
        string? was = target.ExcludedBecause;
        target.ExcludedBecause = why;
        if (was is not null) return; // already out: one log line per exclusion, not one per check
        target.Endpoint.DropConnections($"replica excluded: {why}");
        LogExcluded(pool.Name, target.Endpoint.Endpoint, why);
        events.Add(pool.Name, "replica excluded", target.Endpoint.Endpoint, why);
    }

    private void Publish(ReplicaTarget[] eligible, string noneReason, long masterMicros)
    {
        if (eligible.Length == 0)
            foreach (var target in _replicas.Values) if (target.ExcludedBecause is null) Exclude(target, noneReason);
        master.ReadReplicas = new ReplicaReads(eligible, noneReason, masterMicros);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: replica {Replica} serves reads for {Master}")]
    private partial void LogAdmitted(string pool, string replica, string master);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: replica {Replica} gets no reads: {Reason}")]
    private partial void LogExcluded(string pool, string replica, string reason);
}
