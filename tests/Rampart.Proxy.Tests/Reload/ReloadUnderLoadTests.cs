using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Reload;

/// <summary>
/// The reload test: 50 clients loop SET/GET through a pool while its server list changes (a second server
/// is added, then the weights change), a broken file is reloaded, and a reload adds a pool that then works. Every
/// reply is checked; no client may see an error or lose its connection.
/// </summary>
public sealed class ReloadUnderLoadTests
{
    private const int Clients = 50;

    private static readonly int MainPort = FreePort.Next();

    private static string MainPool(string servers) =>
        $"main:\n  listen: 127.0.0.1:{MainPort}\n  redis: true\n  timeout: 2000\n  servers:\n{servers}";

    [Fact]
    public async Task FiftyClients_ServerListChanges_BrokenFile_NewPool_NoErrorNoDroppedConnection()
    {
        using var a = RedisServerProcess.Start();
        using var b = RedisServerProcess.Start();
        using var c = RedisServerProcess.Start();
        string oneServer = $"    - 127.0.0.1:{a.Port}:1 a\n";
        string twoServers = oneServer + $"    - 127.0.0.1:{b.Port}:1 b\n";
        string reweighted = oneServer + $"    - 127.0.0.1:{b.Port}:3 b\n";
        await using var rampart = await RampartFromFile.StartAsync(MainPool(oneServer));
        int port = rampart.PortOf("main");

        var loop = new ClientLoop(port, Clients);
        loop.Start();
        try
        {
            await loop.WaitForProgressAsync(20);

            var outcome = rampart.Reload(MainPool(twoServers));
            Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
            Assert.Contains($"server +127.0.0.1:{b.Port} (b)", outcome.Changes);
            await loop.WaitForProgressAsync(20);

            outcome = rampart.Reload(MainPool(reweighted));
            Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
            Assert.Contains("weight 127.0.0.1:" + b.Port + " (b) 1 -> 3", outcome.Changes);
            await loop.WaitForProgressAsync(20);

            // A broken file: refused with file:line: reason, counted, and the running configuration is untouched.
            outcome = rampart.Reload(MainPool(reweighted) + "  hash: fnv9\n");
            Assert.False(outcome.Success);
            Assert.Contains(outcome.Errors, e => e.StartsWith(rampart.Path + ":", StringComparison.Ordinal) && e.Contains("fnv9"));
            Assert.Equal(1, rampart.Server.ReloadFailures);
            Assert.Equal("fnv1a_64", rampart.Server.Config.Pools[0].Hash);
            await loop.WaitForProgressAsync(20);

            // A new pool starts listening and works, while the first pool's clients go on.
            outcome = rampart.Reload(MainPool(reweighted) + $"extra:\n  listen: 127.0.0.1:{FreePort.Next()}\n  redis: true\n  servers:\n    - 127.0.0.1:{c.Port}:1\n");
            Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
            Assert.Contains("pool 'extra' added", outcome.Changes);
            using (var extra = RespTestClient.ConnectTcp(rampart.PortOf("extra")))
            {
                Assert.Equal("OK", extra.Call("SET", "extra-key", "extra-value"));
                Assert.Equal("extra-value"u8.ToArray(), extra.Call("GET", "extra-key"));
            }
            Assert.Equal("extra-value", c.Send("*2\r\n$3\r\nGET\r\n$9\r\nextra-key\r\n").Split("\r\n")[1]);
            await loop.WaitForProgressAsync(20);
        }
        finally
        {
            await loop.StopAsync();
        }

        Assert.Empty(loop.Failures);
        Assert.Equal(4, rampart.Server.ReloadSuccesses + rampart.Server.ReloadFailures);
        // Every client still has its first connection, and it still works.
        Assert.All(loop.Connections, client => Assert.Equal("PONG", client.Call("PING")));
        loop.Dispose();
        // The new server really took keys (the routing changed under the clients), so the check above was not vacuous.
        Assert.True(DbSize(b) > 0, "no key ever went to the added server");
        // A reply may be nil only when a client's SET and GET straddled a routing swap: at most once per client per
        // swap (two swaps changed placement). Any other value than the one written would be a failure above.
        Assert.True(loop.Misses <= 2 * Clients, $"{loop.Misses} GETs found nothing");
    }

    private static long DbSize(RedisServerProcess server) =>
        long.Parse(server.Send("*1\r\n$6\r\nDBSIZE\r\n").TrimStart(':').Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Clients on their own threads, each writing a fresh key with a unique value and reading it back in one
    /// pipelined round trip. The reply to GET must be that value, or nil when the key moved to another server between
    /// the SET and the GET (a reload that moves keys does not migrate data; twemproxy behaves the same).
    /// </summary>
    private sealed class ClientLoop(int port, int count) : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly long[] _iterations = new long[count];
        private readonly List<Thread> _threads = [];
        private long _misses;

        public List<RespTestClient> Connections { get; } = [];
        public System.Collections.Concurrent.ConcurrentQueue<string> Failures { get; } = new();
        public long Misses => Interlocked.Read(ref _misses);

        public void Start()
        {
            for (int i = 0; i < count; i++)
            {
                var client = RespTestClient.ConnectTcp(port);
                client.ReadTimeoutMs = 10_000;
                Connections.Add(client);
                int id = i;
                var thread = new Thread(() => Run(id, client)) { IsBackground = true, Name = $"reload-client-{id}" };
                _threads.Add(thread);
                thread.Start();
            }
        }

        private void Run(int id, RespTestClient client)
        {
            var deadline = Stopwatch.StartNew();
            try
            {
                for (long n = 0; !_stop.IsCancellationRequested && n < 1_000_000 && deadline.Elapsed < TimeSpan.FromSeconds(90); n++)
                {
                    string key = $"reload:{id}:{n}";
                    string value = $"{id}:{n}:{Guid.NewGuid():N}";
                    client.Send([.. RespTestClient.Command("SET", key, value), .. RespTestClient.Command("GET", key)]);
                    var set = client.ReadReply();
                    var get = client.ReadReply();
                    if (!Equals(set, "OK")) Fail(id, n, $"SET replied {Show(set)}");
                    else if (get is null) Interlocked.Increment(ref _misses);
                    else if (get is not byte[] bytes || System.Text.Encoding.UTF8.GetString(bytes) != value)
                        Fail(id, n, $"GET {key} replied {Show(get)}, expected {value} or nil");
                    Interlocked.Increment(ref _iterations[id]);
                }
            }
            catch (Exception e)
            {
                Fail(id, -1, $"connection failed: {e.GetType().Name}: {e.Message}");
            }
        }

        private void Fail(int id, long n, string what)
        {
            Failures.Enqueue($"client {id} iteration {n}: {what}");
            _stop.Cancel(); // the first failure is enough; stop before the log fills up
        }

        private static string Show(object? reply) => reply switch
        {
            null => "nil",
            byte[] b => System.Text.Encoding.UTF8.GetString(b),
            RespError e => "-" + e.Message,
            _ => reply.ToString() ?? "?",
        };

        /// <summary>Waits until every client has done <paramref name="more"/> more round trips (bounded: 30 s).</summary>
        public async Task WaitForProgressAsync(int more)
        {
            var targets = _iterations.Select(i => Interlocked.Read(ref i) + more).ToArray();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (Enumerable.Range(0, count).Any(i => Interlocked.Read(ref _iterations[i]) < targets[i]))
            {
                if (!Failures.IsEmpty) Assert.Fail(string.Join("\n", Failures.Take(5)));
                if (DateTime.UtcNow > deadline) Assert.Fail("clients made no progress for 30 s");
                await Task.Delay(10);
            }
        }

        public async Task StopAsync()
        {
            _stop.Cancel();
            foreach (var thread in _threads) await Task.Run(() => thread.Join(TimeSpan.FromSeconds(15)));
        }

        public void Dispose()
        {
            foreach (var client in Connections) client.Dispose();
        }
    }
}
