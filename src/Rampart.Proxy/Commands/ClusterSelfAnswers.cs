using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Commands;

/// <summary>
/// The replies of a cluster pool to cluster introspection, answered by Rampart as a one-node cluster so that a
/// cluster-aware client (StackExchange.Redis, ioredis Cluster, redis-cli -c) keeps every connection on Rampart instead
/// of connecting to the nodes behind it. Pure: facts in, RESP out, byte for byte what Redis 7.0 sends (cluster.c) for
/// a node alone with every slot. COUNTKEYSINSLOT and GETKEYSINSLOT are not here: they are about data, routed by slot.
/// </summary>
internal static class ClusterSelfAnswers
{
    /// <summary>The commands a cluster pool answers itself (a pool's policy makes them Local; other pools keep theirs).</summary>
    public static bool Answers(CommandInfo command) => command.Name is "cluster|slots" or "cluster|shards" or "cluster|nodes"
        or "cluster|info" or "cluster|myid" or "cluster|keyslot" or "readonly" or "readwrite";

    /// <summary>
    /// The node id: 40 lowercase hex characters like Redis's, the SHA-1 of the pool's name and the address the client
    /// reached, so it is the same across restarts (clients cache it) and differs between two Rampart processes that a
    /// client may both know.
    /// </summary>
    public static string NodeIdFor(string poolName, string ip, int port) =>
        Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes($"{poolName}\n{ip}\n{port.ToString(CultureInfo.InvariantCulture)}")));

    /// <summary>Writes the reply to <paramref name="command"/> (one that <see cref="Answers"/>); <paramref name="request"/> holds its arguments.</summary>
    public static void Write(ByteBuffer output, CommandInfo command, Request request, in ClusterSelf self, bool resp3)
    {
        switch (command.Name)
        {
            case "cluster|slots": Slots(output, self, resp3); break;
            case "cluster|shards": Shards(output, self, resp3); break;
            case "cluster|nodes": RespWriter.Text(output, NodesLine(self), resp3); break;
            case "cluster|info": RespWriter.Text(output, Info(self), resp3); break;
            case "cluster|myid": RespWriter.Bulk(output, self.NodeId); break;
            case "cluster|keyslot": RespWriter.Integer(output, ClusterSlot.Of(request[2])); break;
            // Rampart decides where a read goes; the client's wish for replica reads changes nothing, and is not refused.
            default: RespWriter.SimpleString(output, "OK"u8); break;
        }
    }

    /// <summary>CLUSTER SLOTS: <c>[[0, 16383, [ip, port, id, {}]]]</c>; the metadata is an empty array in RESP2, a map in RESP3.</summary>
    public static void Slots(ByteBuffer output, in ClusterSelf self, bool resp3)
    {
        RespWriter.ArrayHeader(output, 1);
        RespWriter.ArrayHeader(output, 3);
        RespWriter.Integer(output, 0);
        RespWriter.Integer(output, ClusterSlot.Count - 1);
        RespWriter.ArrayHeader(output, 4);
        RespWriter.Bulk(output, self.Ip);
        RespWriter.Integer(output, self.Port);
        RespWriter.Bulk(output, self.NodeId);
        if (resp3) RespWriter.MapHeader(output, 0);
        else RespWriter.ArrayHeader(output, 0);
    }

    /// <summary>
    /// CLUSTER SHARDS: one shard, slots [0, 16383], one node with Redis 7.0's fields in its order. Redis leaves
    /// "hostname" out when the node announces none, so does Rampart. Flat field/value arrays in RESP2, maps in RESP3.
    /// </summary>
    public static void Shards(ByteBuffer output, in ClusterSelf self, bool resp3)
    {
        RespWriter.ArrayHeader(output, 1);
        Fields(output, 2, resp3);
        RespWriter.Bulk(output, "slots"u8);
        RespWriter.ArrayHeader(output, 2);
        RespWriter.Integer(output, 0);
        RespWriter.Integer(output, ClusterSlot.Count - 1);
        RespWriter.Bulk(output, "nodes"u8);
        RespWriter.ArrayHeader(output, 1);
        Fields(output, 7, resp3);
        RespWriter.Bulk(output, "id"u8);
        RespWriter.Bulk(output, self.NodeId);
        RespWriter.Bulk(output, "port"u8);
        RespWriter.Integer(output, self.Port);
        RespWriter.Bulk(output, "ip"u8);
        RespWriter.Bulk(output, self.Ip);
        RespWriter.Bulk(output, "endpoint"u8);
        RespWriter.Bulk(output, self.Ip);
        RespWriter.Bulk(output, "role"u8);
        RespWriter.Bulk(output, "master"u8);
        RespWriter.Bulk(output, "replication-offset"u8);
        RespWriter.Integer(output, 0);
        RespWriter.Bulk(output, "health"u8);
        RespWriter.Bulk(output, "online"u8);
    }

    private static void Fields(ByteBuffer output, int pairs, bool resp3)
    {
        if (resp3) RespWriter.MapHeader(output, pairs);
        else RespWriter.ArrayHeader(output, pairs * 2);
    }

    /// <summary>
    /// CLUSTER NODES: <c>id ip:port@cport myself,master - ping-sent pong-recv config-epoch link-state slots</c>, one line
    /// ending in "\n". Clients parse the "@cport", so it is there although Rampart has no cluster bus. Epoch 1: the
    /// epoch a node gets once it owns slots in a formed cluster.
    /// </summary>
    public static string NodesLine(in ClusterSelf self) => string.Create(CultureInfo.InvariantCulture,
        $"{self.NodeId} {self.Ip}:{self.Port}@{self.BusPort} myself,master - 0 0 1 connected 0-{ClusterSlot.Count - 1}\n");

    /// <summary>
    /// CLUSTER INFO: Redis 7.0's fields in its order, each line ending in "\r\n". The state follows the slots Rampart
    /// serves, as a node with cluster-require-full-coverage (the default) reports fail when any slot is unserved; the
    /// unserved ones count as failed, so assigned = ok + pfail + fail as in Redis.
    /// </summary>
    public static string Info(in ClusterSelf self)
    {
        int served = Math.Clamp(self.ServedSlots, 0, ClusterSlot.Count);
        string[] lines =
        [
            $"cluster_state:{(self.AllSlotsServed ? "ok" : "fail")}",
            $"cluster_slots_assigned:{ClusterSlot.Count}",
            $"cluster_slots_ok:{served}",
            "cluster_slots_pfail:0",
            $"cluster_slots_fail:{ClusterSlot.Count - served}",
            "cluster_known_nodes:1",
            "cluster_size:1",
            "cluster_current_epoch:1",
            "cluster_my_epoch:1",
            "cluster_stats_messages_sent:0",
            "cluster_stats_messages_received:0",
            "total_cluster_links_buffer_limit_exceeded:0",
        ];
        return string.Join("", lines.Select(line => line + "\r\n"));
    }
}
