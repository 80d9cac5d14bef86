using System.Collections.Concurrent;
using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pools;

/// <summary>
/// A cluster pool through a real cluster failover (3 masters, 3 replicas, 1 s node timeout), with clients writing
/// unique keys and reading each back at once: a CLUSTER FAILOVER is invisible to them (the old master answers MOVED,
/// Rampart follows), and a kill -9 of a master costs errors on its slots only, until its replica is promoted, with
/// cluster-require-full-coverage no (with Redis's default yes every node itself answers CLUSTERDOWN meanwhile, and
/// Rampart passes that on at once). Every acknowledged write is read back afterwards, through Rampart and directly.
/// </summary>
public sealed class ClusterFailoverTests : IDisposable
{
    private const int Clients = 8;
    private readonly RedisClusterProcess _cluster = RedisClusterProcess.StartWithReplicas();

    public void Dispose() => _cluster.Dispose();

    private static int SlotOf(string key) => ClusterSlot.Of(Encoding.UTF8.GetBytes(key));

    [Fact]
    public async Task ClusterFailover_UnderWrites_NoClientSeesAnError_AndEveryAcknowledgedWriteStays()
    {
        await using var rampart = await ClusterPoolTests.StartReadyAsync(_cluster, seeds: 2);
        var master = _cluster.Masters[0];
        var replica = _cluster.ReplicasOf(master).Single();
        var owners = RedisClusterProcess.SlotOwners(master);

        using var load = new WriteLoad(rampart.Port, Clients);
        Assert.True(load.WaitForWrites(500, TimeSpan.FromSeconds(10)), "no writes before the failover");
        _cluster.Failover(replica);
        long afterSwitch = load.Acknowledged;
        Assert.True(load.WaitForWrites(afterSwitch + 500, TimeSpan.FromSeconds(10)), "writes did not go on after the failover");
        load.Stop();

        Assert.Empty(load.Errors);
        Assert.Empty(load.WrongReplies);
        Assert.Contains(load.Written.Keys, key => owners[SlotOf(key)] == master.Port); // it wrote to the moved slots
        var now = RedisClusterProcess.SlotOwners(replica);
        load.VerifyEvery(rampart.Port, (_, _) => true, direct: key => now[SlotOf(key)]);
    }

    [Fact]
    public async Task KillingAMaster_OtherSlotsSeeNoError_ItsSlotsComeBackOnItsReplica()
    {
        foreach (var node in _cluster.Masters.Concat(_cluster.Replicas))
            RedisClusterProcess.Call(node.Server, "CONFIG", "SET", "cluster-require-full-coverage", "no");
        await using var rampart = await ClusterPoolTests.StartReadyAsync(_cluster, seeds: 2);
        var victim = _cluster.Masters[1];
        var replica = _cluster.ReplicasOf(victim).Single();
        var owners = RedisClusterProcess.SlotOwners(victim);
        bool OnVictim(string key) => owners[SlotOf(key)] == victim.Port;

        using var load = new WriteLoad(rampart.Port, Clients);
        Assert.True(load.WaitForWrites(500, TimeSpan.FromSeconds(10)), "no writes before the kill");
        _cluster.Kill(victim);
        Assert.True(RedisClusterProcess.WaitForRole(replica, "master", TimeSpan.FromSeconds(20)), "the replica was not promoted");
        long promotedAt = load.Acknowledged;
        // Writes to the dead master's slots come back once Rampart has the new map.
        Assert.True(Poll.WaitUntil(() => load.AcknowledgedSince(promotedAt, OnVictim) >= 50, TimeSpan.FromSeconds(10)),
            "no write to the failed master's slots was acknowledged after its replica was promoted");
        load.Stop();

        Assert.Empty(load.WrongReplies);
        Assert.DoesNotContain(load.Errors, e => !OnVictim(e.Key));
        Assert.NotEmpty(load.Errors); // the writes in flight on the killed master, and those sent before the promotion
        // Replication is asynchronous: a write the killed master acknowledged last may not have reached its replica
        // (Redis Cluster's own guarantee). The other slots lose nothing, nor the writes acknowledged after the promotion.
        load.VerifyEvery(rampart.Port, (key, order) => !OnVictim(key) || order > promotedAt,
            direct: key => OnVictim(key) ? replica.Port : owners[SlotOf(key)]);
    }

    /// <summary>
    /// Clients each SET a unique key and GET it back at once, one command at a time, until stopped (bounded: 60 s);
    /// they keep what was acknowledged, errors with their key, and any reply that was not theirs.
    /// </summary>
    private sealed class WriteLoad : IDisposable
    {
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(60));
        private readonly Task[] _clients;
        private long _acknowledged;

        public ConcurrentDictionary<string, (string Value, long Order)> Written { get; } = new();
        public ConcurrentBag<(string Key, string Error)> Errors { get; } = [];
        public ConcurrentBag<string> WrongReplies { get; } = [];
        public long Acknowledged => Interlocked.Read(ref _acknowledged);

        public WriteLoad(int port, int clients) =>
            _clients = Enumerable.Range(0, clients).Select(c => Task.Run(() => Run(port, c))).ToArray();

        private void Run(int port, int client)
        {
            using var connection = RespTestClient.ConnectTcp(port);
            connection.ReadTimeoutMs = 10_000;
            for (int i = 0; !_stop.IsCancellationRequested; i++)
            {
                string key = $"failover:{client}:{i}", value = $"{client}-{i}-{Guid.NewGuid():N}";
                if (connection.CallText("SET", key, value) is RespError setError) { Errors.Add((key, setError.Message)); continue; }
                long order = Interlocked.Increment(ref _acknowledged);
                Written[key] = (value, order);
                object? read = connection.CallText("GET", key);
                if (read is RespError getError) Errors.Add((key, getError.Message));
                else if (read as string != value) WrongReplies.Add($"GET {key}: {read} (wrote {value})");
            }
        }

        public bool WaitForWrites(long count, TimeSpan timeout) => Poll.WaitUntil(() => Acknowledged >= count, timeout);

        public int AcknowledgedSince(long order, Func<string, bool> keys) => Written.Count(w => w.Value.Order > order && keys(w.Key));

        public void Stop()
        {
            _stop.Cancel();
            Task.WaitAll(_clients, TimeSpan.FromSeconds(20));
        }

        /// <summary>Each acknowledged write chosen reads back its value through Rampart and on the node serving it now.</summary>
        public void VerifyEvery(int port, Func<string, long, bool> chosen, Func<string, int> direct)
        {
            using var client = RespTestClient.ConnectTcp(port);
            var nodes = new Dictionary<int, RespTestClient>();
            try
            {
                foreach (var (key, (value, order)) in Written)
                {
                    if (!chosen(key, order)) continue;
                    Assert.Equal(value, client.CallText("GET", key));
                    int owner = direct(key);
                    if (!nodes.TryGetValue(owner, out var node)) nodes[owner] = node = RespTestClient.ConnectTcp(owner);
                    Assert.Equal(value, node.CallText("GET", key));
                }
            }
            finally
            {
                foreach (var node in nodes.Values) node.Dispose();
            }
        }

        public void Dispose()
        {
            Stop();
            _stop.Dispose();
        }
    }
}
