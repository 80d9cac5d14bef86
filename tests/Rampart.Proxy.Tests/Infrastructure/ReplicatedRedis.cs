using System.Text.RegularExpressions;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A real master with real replicas (redis-server --replicaof) on free loopback ports, ready once every replica's
/// link is up; each process is killed by PID on dispose.
/// </summary>
public sealed class ReplicatedRedis : IDisposable
{
    private ReplicatedRedis(RedisServerProcess master, RedisServerProcess[] replicas)
    {
        Master = master;
        Replicas = replicas;
    }

    public RedisServerProcess Master { get; }
    public IReadOnlyList<RedisServerProcess> Replicas { get; }

    public static ReplicatedRedis Start(int replicas)
    {
        var master = RedisServerProcess.Start();
        var started = new List<RedisServerProcess>();
        try
        {
            for (int i = 0; i < replicas; i++) started.Add(RedisServerProcess.Start("--replicaof", "127.0.0.1", master.Port.ToString()));
            var all = new ReplicatedRedis(master, [.. started]);
            foreach (var replica in started)
                if (!Poll.WaitUntil(() => Info(replica, "replication").Contains("master_link_status:up"), TimeSpan.FromSeconds(20)))
                    throw new TimeoutException($"replica {replica.Endpoint} did not link to its master");
            return all;
        }
        catch
        {
            foreach (var replica in started) replica.Dispose();
            master.Dispose();
            throw;
        }
    }

    /// <summary>A single-server pool in front of the master, listing the replicas.</summary>
    public PoolConfig Pool(ReadFrom readFrom) => new()
    {
        Name = "rw",
        Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
        Servers = [new ServerConfig { Host = "127.0.0.1", Port = Master.Port }],
        Replicas = Replicas.Select(r => new ServerConfig { Host = "127.0.0.1", Port = r.Port }).ToList(),
        ReadFrom = readFrom,
    };

    public static string Info(RedisServerProcess node, string section)
    {
        using var client = RespTestClient.ConnectTcp(node.Port);
        client.ReadTimeoutMs = 2000;
        return client.CallText("INFO", section) as string ?? "";
    }

    /// <summary>How many times <paramref name="command"/> ran on the node since its last CONFIG RESETSTAT (INFO commandstats).</summary>
    public static long Calls(RedisServerProcess node, string command)
    {
        var match = Regex.Match(Info(node, "commandstats"), $@"cmdstat_{command}:calls=(\d+)");
        return match.Success ? long.Parse(match.Groups[1].Value) : 0;
    }

    /// <summary>
    /// Waits until every replica has applied all its master had written when this was called. A WAIT on a connection
    /// of its own cannot do this: WAIT counts only the writes made on its connection, so on a fresh one it returns at once.
    /// </summary>
    public static void WaitUntilReplicated(IEnumerable<RedisServerProcess> replicas, IEnumerable<RedisServerProcess> masters)
    {
        var byPort = masters.ToDictionary(m => m.Port);
        foreach (var replica in replicas)
        {
            var master = byPort[(int)InfoField(replica, "replication", "master_port")];
            long written = InfoField(master, "replication", "master_repl_offset");
            if (!Poll.WaitUntil(() => InfoField(replica, "replication", "slave_repl_offset") >= written, TimeSpan.FromSeconds(10)))
                throw new TimeoutException($"replica {replica.Endpoint} did not reach its master's offset {written}");
        }
    }

    private static long InfoField(RedisServerProcess node, string section, string field)
    {
        var match = Regex.Match(Info(node, section), $@"(?m)^{field}:(-?\d+)");
        return match.Success ? long.Parse(match.Groups[1].Value) : -1;
    }

    public static void ResetStats(RedisServerProcess node)
    {
        using var client = RespTestClient.ConnectTcp(node.Port);
        client.Call("CONFIG", "RESETSTAT");
    }

    public void Dispose()
    {
        foreach (var replica in Replicas) replica.Dispose();
        Master.Dispose();
    }
}
