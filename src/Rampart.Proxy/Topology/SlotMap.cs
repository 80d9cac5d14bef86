using Rampart.Protocol;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Topology;

/// <summary>One master of a Redis Cluster and the replicas a node reported for it (host and port as the cluster announces them).</summary>
internal sealed record ClusterShard(string Host, int Port, string? NodeId, IReadOnlyList<(string Host, int Port)> Replicas)
{
    public string Endpoint => $"{Host}:{Port}";
}

/// <summary>
/// A Redis Cluster's slot map as one node reported it: each of the 16384 slots to the shard (master) that serves it,
/// or none. Immutable, built whole from one reply and swapped whole by its topology source (as a pool's routing
/// snapshot is), so a request is routed entirely by one map. Read from CLUSTER SHARDS (Redis 7.0+, with each node's
/// health), or CLUSTER SLOTS on older servers; a reply that serves a slot twice is refused rather than guessed at.
/// </summary>
internal sealed class SlotMap
{
    private const short NoShard = -1;
    private readonly short[] _shardOfSlot;

    private SlotMap(IReadOnlyList<ClusterShard> shards, short[] shardOfSlot)
    {
        Shards = shards;
        _shardOfSlot = shardOfSlot;
    }

    /// <summary>The masters, each once, in the order the reply first named them.</summary>
    public IReadOnlyList<ClusterShard> Shards { get; }

    /// <summary>The shard serving <paramref name="slot"/>, or null when no node serves it (the cluster is down there: fail closed).</summary>
    public ClusterShard? ShardOf(int slot) => _shardOfSlot[slot] is var index and >= 0 ? Shards[index] : null;

    /// <summary>The shard serving <paramref name="key"/>'s slot, or null.</summary>
    public ClusterShard? ShardOf(ReadOnlySpan<byte> key) => ShardOf(ClusterSlot.Of(key));

    /// <summary>The index in <see cref="Shards"/> of the shard serving <paramref name="slot"/>, or -1 when none does.</summary>
    public short ShardIndexOf(int slot) => _shardOfSlot[slot];

    /// <summary>
    /// The map as text, one "start-end=host:port" per range in slot order: two maps with the same fingerprint send every
    /// slot to the same node (whatever order their replies listed the shards in).
    /// </summary>
    public string Fingerprint => _fingerprint ??= BuildFingerprint();
    private string? _fingerprint;

    private string BuildFingerprint()
    {
        var text = new System.Text.StringBuilder();
        for (int start = 0; start < _shardOfSlot.Length;)
        {
            int end = start;
            while (end + 1 < _shardOfSlot.Length && _shardOfSlot[end + 1] == _shardOfSlot[start]) end++;
            string owner = _shardOfSlot[start] == NoShard ? "-" : Shards[_shardOfSlot[start]].Endpoint;
            text.Append(start).Append('-').Append(end).Append('=').Append(owner).Append(' ');
            start = end + 1;
        }
        return text.ToString();
    }

    /// <summary>How many slots some shard serves (16384 when the whole cluster is covered).</summary>
    public int CoveredSlots => _shardOfSlot.Count(s => s != NoShard);

    /// <summary>
    /// The map in a CLUSTER SLOTS reply: an array of [start, end, master, replica...], each node [host, port, id, ...].
    /// Throws <see cref="FormatException"/> for a reply of another shape, a slot outside 0..16383, or a slot served twice.
    /// </summary>
    public static SlotMap FromClusterSlots(RespValue reply)
    {
        if (reply.IsError) throw new FormatException($"CLUSTER SLOTS answered an error: {reply.Text}");
        if (reply.Kind != RespValue.ValueKind.Array) throw new FormatException("CLUSTER SLOTS did not answer an array");
        var owner = new short[ClusterSlot.Count];
        Array.Fill(owner, NoShard);
        var shards = new List<ClusterShard>();
        var indexOf = new Dictionary<string, short>(StringComparer.Ordinal);
        foreach (var range in reply.Items)
        {
            if (range.Items.Count < 3) throw new FormatException("a CLUSTER SLOTS entry needs a start, an end and a master");
            var master = Node(range.Items[2]);
            string key = $"{master.Host}:{master.Port}";
            if (!indexOf.TryGetValue(key, out short index))
            {
                index = (short)shards.Count;
                indexOf[key] = index;
                shards.Add(new ClusterShard(master.Host, master.Port, master.Id, range.Items.Skip(3).Select(r => { var n = Node(r); return (n.Host, n.Port); }).ToArray()));
            }
            Assign(owner, range.Items[0].Integer, range.Items[1].Integer, index, "CLUSTER SLOTS");
        }
        return new SlotMap(shards, owner);
    }

    /// <summary>
    /// The map in a CLUSTER SHARDS reply (Redis 7.0+): each shard's slot ranges and nodes, a map in RESP3 or a flat
    /// field/value array in RESP2. A shard's master is its node with role master; a shard without a healthy one
    /// (health not online) serves nothing here, so its slots fail closed. A node that announces no endpoint and no ip
    /// (a node alone, before any MEET) is at <paramref name="askedHost"/>, the node that answered.
    /// </summary>
    public static SlotMap FromClusterShards(RespValue reply, string askedHost)
    {
        if (reply.IsError) throw new FormatException($"CLUSTER SHARDS answered an error: {reply.Text}");
        if (reply.Kind != RespValue.ValueKind.Array) throw new FormatException("CLUSTER SHARDS did not answer an array");
        var owner = new short[ClusterSlot.Count];
        Array.Fill(owner, NoShard);
        var shards = new List<ClusterShard>();
        foreach (var shard in reply.Items)
        {
            var slots = Field(shard, "slots") ?? throw new FormatException("a CLUSTER SHARDS entry has no slots");
            var nodes = Field(shard, "nodes") ?? throw new FormatException("a CLUSTER SHARDS entry has no nodes");
            var members = nodes.Items.Select(n => (Node: n, Fields: n.AsFieldMap())).ToList();
            var master = members.FirstOrDefault(m => m.Fields.GetValueOrDefault("role") == "master" && m.Fields.GetValueOrDefault("health") == "online");
            if (master.Node is null || slots.Items.Count == 0) continue;
            var replicas = members.Where(m => m.Fields.GetValueOrDefault("role") == "replica" && m.Fields.GetValueOrDefault("health") == "online")
                .Select(m => (HostOf(m.Fields, askedHost), PortOf(m.Node))).ToArray();
            short index = (short)shards.Count;
            shards.Add(new ClusterShard(HostOf(master.Fields, askedHost), PortOf(master.Node), master.Fields.GetValueOrDefault("id"), replicas));
            for (int i = 0; i + 1 < slots.Items.Count; i += 2)
                Assign(owner, slots.Items[i].Integer, slots.Items[i + 1].Integer, index, "CLUSTER SHARDS");
        }
        return new SlotMap(shards, owner);
    }

    /// <summary>Gives slots <paramref name="start"/>..<paramref name="end"/> to shard <paramref name="index"/>; a bad or doubly served range is refused.</summary>
    private static void Assign(short[] owner, long start, long end, short index, string source)
    {
        if (start < 0 || end >= ClusterSlot.Count || start > end) throw new FormatException($"slot range {start}-{end} is not within 0-16383");
        for (long slot = start; slot <= end; slot++)
        {
            if (owner[slot] != NoShard) throw new FormatException($"slot {slot} is served twice in one {source} reply");
            owner[slot] = index;
        }
    }

    /// <summary>A field of a map (RESP3) or flat field/value array (RESP2).</summary>
    private static RespValue? Field(RespValue entry, string name)
    {
        for (int i = 0; i + 1 < entry.Items.Count; i += 2)
            if (entry.Items[i].Text == name) return entry.Items[i + 1];
        return null;
    }

    private static string HostOf(Dictionary<string, string> node, string askedHost) =>
        node.GetValueOrDefault("endpoint") is { Length: > 0 } endpoint && endpoint != "?" ? endpoint
        : node.GetValueOrDefault("ip") is { Length: > 0 } ip ? ip : askedHost;

    private static int PortOf(RespValue node) =>
        Field(node, "port") is { Kind: RespValue.ValueKind.Integer } port ? (int)port.Integer
        : throw new FormatException("a CLUSTER SHARDS node has no port");

    private static (string Host, int Port, string? Id) Node(RespValue node)
    {
        if (node.Items.Count < 2 || node.Items[0].Text is not { } host || node.Items[1].Kind != RespValue.ValueKind.Integer)
            throw new FormatException("a CLUSTER SLOTS node needs a host and a port");
        return (host, (int)node.Items[1].Integer, node.Items.Count > 2 ? node.Items[2].Text : null);
    }
}
