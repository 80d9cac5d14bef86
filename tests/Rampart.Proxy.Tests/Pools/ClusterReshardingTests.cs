using System.Diagnostics;
using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pools;

/// <summary>
/// Slots move between masters while clients pipeline writes and reads of unique values through Rampart: every reply
/// is the client's own and in its order, no client sees an error (MOVED and ASK are followed), and every write
/// acknowledged is on the node that serves its slot at the end.
/// </summary>
public sealed class ClusterReshardingTests : IDisposable
{
    private const int Clients = 6;
    private const int KeysPerClient = 20;
    private readonly RedisClusterProcess _cluster = RedisClusterProcess.Start();

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task PipelinedClients_SeeOnlyTheirOwnValues_InOrder_WhileSlotsMove()
    {
        await using var rampart = await ClusterPoolTests.StartReadyAsync(_cluster);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // a bound, in case the moves hang
        var lastWritten = new string?[Clients, KeysPerClient];
        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(() => Load(rampart.Port, c, lastWritten, stop.Token))).ToArray();

        // Move the slots of some of the clients' keys to another master and back, while they run.
        var slots = Enumerable.Range(0, Clients).Select(c => ClusterSlot.Of(Encoding.UTF8.GetBytes(Key(c, 0)))).Distinct().ToArray();
        int moves = 0;
        var watch = Stopwatch.StartNew();
        for (int round = 0; round < 3 && !stop.IsCancellationRequested; round++)
            foreach (int slot in slots)
            {
                var source = Owner(slot);
                var target = _cluster.Nodes.First(n => n.Port != source.Port);
                ClusterSlots.Migrate(_cluster, slot, source, target);
                moves++;
            }
        await Task.Delay(200);
        stop.Cancel();
        var results = await Task.WhenAll(clients);

        Assert.True(moves >= 6, $"only {moves} slot moves in {watch.ElapsedMilliseconds} ms");
        Assert.All(results, r => Assert.Null(r.Problem));
        Assert.All(results, r => Assert.True(r.Rounds > 10, $"a client ran only {r.Rounds} rounds"));
        // Every acknowledged write is where the cluster now serves its slot.
        for (int c = 0; c < Clients; c++)
            for (int k = 0; k < KeysPerClient; k++)
                if (lastWritten[c, k] is { } value)
                {
                    string key = Key(c, k);
                    var owner = Owner(ClusterSlot.Of(Encoding.UTF8.GetBytes(key)));
                    Assert.Equal($"${value.Length}\r\n{value}\r\n", owner.Send(RespText.Command("GET", key)));
                }
        var pool = rampart.Server.Pools.Single();
        Assert.True(pool.Routing.Servers.Sum(s => s.Stats.Moved + s.Stats.Asked) > 0, "no redirection was followed: the test moved nothing under load");
    }

    private static string Key(int client, int k) => $"c{client}:k{k}";

    private RedisServerProcess Owner(int slot) => ClusterSlots.OwnerOf(_cluster, slot);

    private sealed record LoadResult(long Rounds, string? Problem);

    /// <summary>Rounds of a pipelined SET then GET of each of the client's keys with a fresh value, each reply checked.</summary>
    private static LoadResult Load(int port, int client, string?[,] lastWritten, CancellationToken stop)
    {
        using var connection = RespTestClient.ConnectTcp(port);
        long round = 0;
        while (!stop.IsCancellationRequested && round < 100_000)
        {
            round++;
            var batch = new List<byte>();
            for (int k = 0; k < KeysPerClient; k++)
            {
                batch.AddRange(RespTestClient.Command("SET", Key(client, k), $"v{client}.{k}.{round}"));
                batch.AddRange(RespTestClient.Command("GET", Key(client, k)));
            }
            connection.Send(batch.ToArray());
            for (int k = 0; k < KeysPerClient; k++)
            {
                string expected = $"v{client}.{k}.{round}";
                var set = RespTestClient.AsText(connection.ReadReply());
                if (!Equals(set, "OK")) return new LoadResult(round, $"SET {Key(client, k)} answered {Describe(set)}");
                lastWritten[client, k] = expected;
                var get = RespTestClient.AsText(connection.ReadReply());
                if (!Equals(get, expected)) return new LoadResult(round, $"GET {Key(client, k)} answered {Describe(get)}, expected {expected}");
            }
        }
        return new LoadResult(round, null);
    }

    private static string Describe(object? reply) => reply switch
    {
        null => "nil",
        RespError e => "-" + e.Message,
        _ => reply.ToString() ?? "?",
    };
}
