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

    /// <summary>
    /// Every node learns that <paramref name="target"/> serves the slot (ends the migration), and the move is waited for
    /// until every node agrees. The target takes a new config epoch at its SETSLOT NODE, from the greatest epoch it
    /// knows: moves made back to back, before gossip has spread the last one's epoch, can give two nodes the same epoch,
    /// and a stale claim of the old owner can then win on the target, leaving each of the two pointing at the other for
    /// good. So the epochs are let settle first, and a slot nobody claims afterwards is given to the target again behind
    /// a fresh epoch.
    /// </summary>
    public static void FinishMigration(RedisClusterProcess cluster, int slot, RedisServerProcess target)
    {
        WaitForEpochAgreement(cluster);
        AssignEverywhere(cluster, slot, target);
        for (int attempt = 0; !OwnerIs(cluster, slot, target, TimeSpan.FromSeconds(3)); attempt++)
        {
            if (attempt == 3) throw new InvalidOperationException($"slot {slot} did not settle on {target.Endpoint}");
            WaitForEpochAgreement(cluster);
            target.Send(RespText.Command("CLUSTER", "BUMPEPOCH"));
            AssignEverywhere(cluster, slot, target);
        }
    }

    private static void AssignEverywhere(RedisClusterProcess cluster, int slot, RedisServerProcess target)
    {
        string id = IdOf(target);
        Expect(target, "CLUSTER", "SETSLOT", slot.ToString(), "NODE", id);
        foreach (var node in cluster.LiveNodes().Where(n => n.Port != target.Port))
            Expect(node, "CLUSTER", "SETSLOT", slot.ToString(), "NODE", id);
    }

    /// <summary>Whether the live nodes agree within <paramref name="timeout"/> that <paramref name="target"/> serves the slot.</summary>
    private static bool OwnerIs(RedisClusterProcess cluster, int slot, RedisServerProcess target, TimeSpan timeout) =>
        Poll.WaitUntil(() => AgreedOwner(cluster, KeyInSlot(slot, "probe"), out _)?.Port == target.Port, timeout);

    /// <summary>Until every live node knows the same current epoch and the same config epoch of every node (at most 10 s).</summary>
    public static void WaitForEpochAgreement(RedisClusterProcess cluster) =>
        Poll.WaitUntil(() => cluster.LiveNodes().Select(EpochView).Distinct().Count() == 1, TimeSpan.FromSeconds(10));

    /// <summary>A node's view of the epochs: its current epoch, then each node's id and config epoch, sorted.</summary>
    private static string EpochView(RedisServerProcess node)
    {
        string info = node.Send(RespText.Command("CLUSTER", "INFO"));
        string current = info.Split("\r\n").FirstOrDefault(l => l.StartsWith("cluster_current_epoch:", StringComparison.Ordinal)) ?? "";
        string nodes = node.Send(RespText.Command("CLUSTER", "NODES"));
        var epochs = nodes.Split('\n').Skip(1) // the first line is the bulk header
            .Select(l => l.Split(' '))
            .Where(f => f.Length > 6)
            .Select(f => f[0] + ":" + f[6])
            .Order(StringComparer.Ordinal);
        return current + "|" + string.Join(",", epochs);
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

    /// <summary>
    /// The master serving <paramref name="key"/>'s slot now: the one node that answers for the slot itself, once every
    /// other live node sends MOVED to it. Asking one node is not enough: after a SETSLOT a gossip message sent before
    /// it can put a node's view back for a moment, and under load a node can see the cluster down for a moment; a move
    /// started from such a view fails with "I'm not the owner of hash slot".
    /// </summary>
    public static RedisServerProcess OwnerOf(RedisClusterProcess cluster, string key)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            if (AgreedOwner(cluster, key, out string replies) is { } owner) return owner;
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"the cluster did not agree on the owner of {key} within 15 s: {replies}");
            Thread.Sleep(50);
        }
    }

    /// <summary>The one live node that answers for <paramref name="key"/>'s slot while every other sends MOVED to it; else null.</summary>
    private static RedisServerProcess? AgreedOwner(RedisClusterProcess cluster, string key, out string replies)
    {
        var answers = cluster.LiveNodes().Select(n => (Node: n, Reply: n.Send(RespText.Command("EXISTS", key)).Trim())).ToList();
        replies = string.Join("; ", answers.Select(r => $"{r.Node.Endpoint} {r.Reply}"));
        var owners = answers.Where(r => r.Reply.StartsWith(':')).Select(r => r.Node).ToList();
        return owners.Count == 1 && answers.All(r => r.Node == owners[0] || r.Reply.StartsWith("-MOVED", StringComparison.Ordinal)
            && r.Reply.EndsWith($":{owners[0].Port}", StringComparison.Ordinal)) ? owners[0] : null;
    }

    /// <summary>The master serving <paramref name="slot"/> now (see <see cref="OwnerOf(RedisClusterProcess, string)"/>).</summary>
    public static RedisServerProcess OwnerOf(RedisClusterProcess cluster, int slot) => OwnerOf(cluster, KeyInSlot(slot, "probe"));

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
