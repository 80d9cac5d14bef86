using System.Text;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// Moves one slot between two masters of a real cluster the way <c>redis-cli --cluster reshard</c> does, step by step
/// (Redis Cluster specification, "Live resharding"), so a test can hold it half way: the target IMPORTING, the source
/// MIGRATING, the keys moved with MIGRATE, then every node told the slot's new owner.
/// </summary>
public static class ClusterSlots
{
    public static string IdOf(RedisServerProcess node) => Bulk(node.Send(RespText.Command("CLUSTER", "MYID")));

    /// <summary>The whole move: the slot and its keys end up served by <paramref name="target"/> on every node.</summary>
    public static void Migrate(RedisClusterProcess cluster, int slot, RedisServerProcess source, RedisServerProcess target)
    {
        BeginMigration(slot, source, target);
        MigrateKeys(slot, source, target);
        FinishMigration(cluster, slot, target);
    }

    /// <summary>The target imports the slot and the source migrates it: the source answers ASK for keys it no longer has.</summary>
    public static void BeginMigration(int slot, RedisServerProcess source, RedisServerProcess target)
    {
        Expect(target, "CLUSTER", "SETSLOT", slot.ToString(), "IMPORTING", IdOf(source));
        Expect(source, "CLUSTER", "SETSLOT", slot.ToString(), "MIGRATING", IdOf(target));
    }

    /// <summary>Moves every key of the slot from the source to the target (MIGRATE ... KEYS).</summary>
    public static void MigrateKeys(int slot, RedisServerProcess source, RedisServerProcess target)
    {
        while (true)
        {
            var keys = Lines(source.Send(RespText.Command("CLUSTER", "GETKEYSINSLOT", slot.ToString(), "100")));
            if (keys.Count == 0) return;
            string reply = source.Send(RespText.Command(["MIGRATE", "127.0.0.1", target.Port.ToString(), "", "0", "5000", "KEYS", .. keys]));
            if (!reply.StartsWith("+OK", StringComparison.Ordinal)) throw new InvalidOperationException($"MIGRATE answered {reply.Trim()}");
        }
    }

    /// <summary>Every node learns that <paramref name="target"/> serves the slot (ends the migration).</summary>
    public static void FinishMigration(RedisClusterProcess cluster, int slot, RedisServerProcess target)
    {
        string id = IdOf(target);
        Expect(target, "CLUSTER", "SETSLOT", slot.ToString(), "NODE", id);
        foreach (var node in cluster.Nodes.Where(n => n.Port != target.Port))
            Expect(node, "CLUSTER", "SETSLOT", slot.ToString(), "NODE", id);
    }

    /// <summary>A key (with a hash tag) that hashes to <paramref name="slot"/>.</summary>
    public static string KeyInSlot(int slot, string name)
    {
        for (int i = 0; ; i++)
        {
            string tag = $"t{i}";
            if (ClusterSlot.Of(Encoding.UTF8.GetBytes(tag)) == slot) return $"{{{tag}}}{name}";
        }
    }

    /// <summary>The master serving <paramref name="key"/>'s slot now, as the cluster says (asked live, not from a map).</summary>
    public static RedisServerProcess OwnerOf(RedisClusterProcess cluster, string key)
    {
        var first = cluster.Nodes[0];
        string reply = first.Send(RespText.Command("GET", key));
        if (!reply.StartsWith("-MOVED", StringComparison.Ordinal)) return first;
        int port = int.Parse(reply.Trim().Split(':')[^1]);
        return cluster.Nodes.Single(n => n.Port == port);
    }

    /// <summary>A master other than <paramref name="node"/> (a slot's move target).</summary>
    public static RedisServerProcess OtherThan(RedisClusterProcess cluster, RedisServerProcess node) =>
        cluster.Nodes.First(n => n.Port != node.Port);

    /// <summary>A command run on <paramref name="node"/> behind ASKING (reads or writes a slot it imports); its reply's raw text.</summary>
    public static string Asking(RedisServerProcess node, params string[] command) =>
        RedisProgram.ExchangeOnce(node.Port, RespText.Command("ASKING") + RespText.Command(command))["+OK\r\n".Length..];

    private static void Expect(RedisServerProcess node, params string[] command)
    {
        string reply = node.Send(RespText.Command(command));
        if (!reply.StartsWith("+OK", StringComparison.Ordinal))
            throw new InvalidOperationException($"{string.Join(' ', command)} on {node.Endpoint} answered {reply.Trim()}");
    }

    private static string Bulk(string reply) => reply.Split("\r\n")[1];

    /// <summary>The elements of an array of bulk strings, from its raw RESP text.</summary>
    private static List<string> Lines(string reply)
    {
        var parts = reply.Split("\r\n");
        var items = new List<string>();
        for (int i = 1; i + 1 < parts.Length; i += 2) items.Add(parts[i + 1]);
        return items;
    }
}
