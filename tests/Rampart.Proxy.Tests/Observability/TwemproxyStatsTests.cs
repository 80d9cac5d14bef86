using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Rampart.Admin;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Observability;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Routing;

namespace Rampart.Proxy.Tests.Observability;

/// <summary>The twemproxy-compatible stats port, against real redis-servers (and a real nutcracker for the shape).</summary>
public sealed class TwemproxyStatsTests
{
    private static PoolConfig TwoServers(RedisServerProcess named, RedisServerProcess unnamed) => new()
    {
        Name = "alpha",
        Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
        Servers =
        [
            new ServerConfig { Host = "127.0.0.1", Port = named.Port, Weight = 1, Name = "cache-1" },
            new ServerConfig { Host = "127.0.0.1", Port = unnamed.Port, Weight = 1 },
        ],
    };

    [Fact]
    public async Task Counters_FollowTheTraffic()
    {
        using var redis1 = RedisServerProcess.Start();
        using var redis2 = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(TwoServers(redis1, redis2));
        using var stats = new StatsServer(rampart.Server, "127.0.0.1", 0);
        stats.Start();
        int statsPort = stats.LocalEndPoint.Port;

        var before = StatsReader.Read(statsPort);
        Assert.Equal("rampart", before.GetProperty("service").GetString());
        Assert.Equal(0, before.GetProperty("alpha").GetProperty("cache-1").GetProperty("requests").GetInt64());
        Assert.Equal(0, before.GetProperty("alpha").GetProperty($"127.0.0.1:{redis2.Port}").GetProperty("requests").GetInt64());

        const int count = 200;
        long requestBytes = 0;
        int usedServers;
        using (var client = new RawClient(rampart.Port))
        {
            var batch = new StringBuilder();
            for (int i = 0; i < count; i++) batch.Append(RespText.Command("SET", $"key:{i}", $"value-{i}"));
            requestBytes = Encoding.UTF8.GetByteCount(batch.ToString());
            client.Send(batch.ToString());
            for (int i = 0; i < count; i++) Assert.Equal("+OK", client.ReadLine());

            var during = StatsReader.Read(statsPort);
            Assert.Equal(1, during.GetProperty("alpha").GetProperty("client_connections").GetInt64());
            // The pool's listener, this client and one connection per server used (nutcracker counts all three kinds).
            usedServers = during.GetProperty("alpha").EnumerateObject()
                .Count(p => p.Value.ValueKind == JsonValueKind.Object && p.Value.GetProperty("requests").GetInt64() > 0);
            Assert.True(1 + 1 + usedServers == during.GetProperty("curr_connections").GetInt64(), during.ToString());
        }

        // The session counts its EOF, then leaves the pool: wait for both, or the snapshot may fall between them.
        var after = await WaitFor(statsPort, s => s.GetProperty("alpha").GetProperty("client_eof").GetInt64() == 1
                                               && s.GetProperty("alpha").GetProperty("client_connections").GetInt64() == 0);
        var alpha = after.GetProperty("alpha");
        var servers = alpha.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Object).Select(p => p.Value).ToList();
        Assert.Equal(2, servers.Count);
        Assert.Equal(count, servers.Sum(s => s.GetProperty("requests").GetInt64()));
        Assert.Equal(count, servers.Sum(s => s.GetProperty("responses").GetInt64()));
        // Not asserted: that both servers get keys. With ketama, "cache-1" and "127.0.0.1:PORT" can, for some ports,
        // split the continuum so unevenly that all 200 keys land on one server; nutcracker 0.5.0 places them the same.
        // Requests are forwarded byte for byte; every reply is "+OK\r\n".
        Assert.Equal(requestBytes, servers.Sum(s => s.GetProperty("request_bytes").GetInt64()));
        Assert.Equal(count * 5, servers.Sum(s => s.GetProperty("response_bytes").GetInt64()));
        Assert.All(servers, s =>
        {
            Assert.Equal(s.GetProperty("requests").GetInt64() > 0 ? 1 : 0, s.GetProperty("server_connections").GetInt64());
            Assert.Equal(0, s.GetProperty("in_queue").GetInt64());
            Assert.Equal(0, s.GetProperty("in_queue_bytes").GetInt64());
            Assert.Equal(0, s.GetProperty("out_queue").GetInt64());
            Assert.Equal(0, s.GetProperty("out_queue_bytes").GetInt64());
            Assert.Equal(0, s.GetProperty("server_err").GetInt64());
        });
        Assert.Equal(0, alpha.GetProperty("client_connections").GetInt64());
        // The whole snapshot on failure: seen once under a full test run, total_connections one above this.
        Assert.True(1 + 1 + usedServers == after.GetProperty("total_connections").GetInt64(), $"{usedServers} servers used: {after}");
        Assert.True(1 + usedServers == after.GetProperty("curr_connections").GetInt64(), $"{usedServers} servers used: {after}");
    }

    [Fact]
    public async Task QueuesAndTimeouts_ShowAFrozenServer()
    {
        using var redis = RedisServerProcess.Start();
        var pool = RampartUnderTest.Pool(redis) with { TimeoutMs = 1500 };
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        using var stats = new StatsServer(rampart.Server, "127.0.0.1", 0);
        stats.Start();
        using var client = new RawClient(rampart.Port);
        client.Send(RespText.Command("PING"));
        Assert.Equal("+PONG", client.ReadLine());
        client.Send(RespText.Command("GET", "warm"));
        Assert.Equal("$-1", client.ReadLine());

        redis.Freeze();
        try
        {
            string get = RespText.Command("GET", "frozen");
            client.Send(get + get + get);
            var frozen = await WaitFor(stats.LocalEndPoint.Port, s => s.GetProperty("test").GetProperty("s0").GetProperty("out_queue").GetInt64() == 3);
            Assert.Equal(3 * Encoding.UTF8.GetByteCount(get), frozen.GetProperty("test").GetProperty("s0").GetProperty("out_queue_bytes").GetInt64());
            for (int i = 0; i < 3; i++) Assert.Equal("-ERR timeout", client.ReadLine());
            var timedOut = StatsReader.Read(stats.LocalEndPoint.Port).GetProperty("test").GetProperty("s0");
            Assert.Equal(1, timedOut.GetProperty("server_timedout").GetInt64());
            Assert.Equal(0, timedOut.GetProperty("server_err").GetInt64());
        }
        finally
        {
            redis.Thaw();
        }
    }

    [Fact]
    public async Task ForwardError_CountsRequestsForAnUnreachableServer()
    {
        int closedPort = FreePort.Next();
        var pool = new PoolConfig
        {
            Name = "down",
            Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
            Servers = [new ServerConfig { Host = "127.0.0.1", Port = closedPort, Weight = 1 }],
        };
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        using var stats = new StatsServer(rampart.Server, "127.0.0.1", 0);
        stats.Start();
        using var client = new RawClient(rampart.Port);
        client.Send(RespText.Command("GET", "a") + RespText.Command("GET", "b"));
        Assert.StartsWith("-ERR rampart: server", client.ReadLine());
        Assert.StartsWith("-ERR rampart: server", client.ReadLine());
        var down = StatsReader.Read(stats.LocalEndPoint.Port).GetProperty("down");
        Assert.Equal(2, down.GetProperty("forward_error").GetInt64());
        var server = down.GetProperty($"127.0.0.1:{closedPort}");
        Assert.True(server.GetProperty("server_err").GetInt64() >= 1);
        Assert.Equal(0, server.GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task Document_IsOneLine_InNutcrackersFieldOrder()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var stats = new StatsServer(rampart.Server, "127.0.0.1", 0);
        stats.Start();
        string raw = StatsReader.ReadRaw(stats.LocalEndPoint.Port);
        Assert.EndsWith("\n", raw);
        Assert.DoesNotContain('\n', raw.TrimEnd('\n'));
        var root = JsonDocument.Parse(raw).RootElement;
        Assert.Equal(["service", "source", "version", "uptime", "timestamp", "total_connections", "curr_connections", "test"],
            StatsReader.FieldOrder(root));
        Assert.Equal(TwemproxyStats.PoolFields.Select(f => f.Name).Append("s0"), StatsReader.FieldOrder(root.GetProperty("test")));
        Assert.Equal(TwemproxyStats.ServerFields.Select(f => f.Name), StatsReader.FieldOrder(root.GetProperty("test").GetProperty("s0")));
        Assert.Equal(Dns.GetHostName(), root.GetProperty("source").GetString());
        Assert.InRange(root.GetProperty("timestamp").GetInt64() - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), -5, 5);
    }

    [Fact]
    public void StatsPortInUse_IsAStartupError()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen(1);
        var proxy = new ProxyServer(new ProxyConfig { Source = "(test)", Pools = [] });
        Assert.Throws<SocketException>(() => new StatsServer(proxy, "127.0.0.1", ((IPEndPoint)taken.LocalEndPoint!).Port));
    }

    [NutcrackerFact]
    public async Task KeySets_MatchNutcracker()
    {
        using var redis1 = RedisServerProcess.Start();
        using var redis2 = RedisServerProcess.Start();
        string yamlServers = $"  redis: true\n  servers:\n    - 127.0.0.1:{redis1.Port}:1 cache-1\n    - 127.0.0.1:{redis2.Port}:1\n";

        int nutStats = FreePort.Next();
        int nutPort = FreePort.Next();
        string dir = Directory.CreateTempSubdirectory("rampart-stats-").FullName;
        string conf = Path.Combine(dir, "nutcracker.yml");
        File.WriteAllText(conf, $"alpha:\n  listen: 127.0.0.1:{nutPort}\n{yamlServers}");
        var psi = new ProcessStartInfo(NutcrackerProcess.Binary!) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "-c", conf, "-s", nutStats.ToString(), "-a", "127.0.0.1", "-i", "100", "-o", Path.Combine(dir, "n.log") })
            psi.ArgumentList.Add(arg);
        using var nutcracker = Process.Start(psi)!;
        try
        {
            JsonElement nut = default;
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (true)
            {
                try { nut = StatsReader.Read(nutStats); break; }
                catch (SocketException) when (DateTime.UtcNow < deadline && !nutcracker.HasExited) { await Task.Delay(50); }
            }

            await using var rampart = await RampartUnderTest.StartAsync(TwoServers(redis1, redis2));
            using var stats = new StatsServer(rampart.Server, "127.0.0.1", 0);
            stats.Start();
            var ours = StatsReader.Read(stats.LocalEndPoint.Port);

            Assert.Equal(StatsReader.KeyPaths(nut), StatsReader.KeyPaths(ours));
            // Same order of fields inside a pool and inside a server.
            Assert.Equal(StatsReader.FieldOrder(nut.GetProperty("alpha")), StatsReader.FieldOrder(ours.GetProperty("alpha")));
            Assert.Equal(StatsReader.FieldOrder(nut.GetProperty("alpha").GetProperty("cache-1")),
                StatsReader.FieldOrder(ours.GetProperty("alpha").GetProperty("cache-1")));
            Assert.Equal(StatsReader.FieldOrder(nut), StatsReader.FieldOrder(ours));
        }
        finally
        {
            if (!nutcracker.HasExited) nutcracker.Kill();
            nutcracker.WaitForExit(5000);
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<JsonElement> WaitFor(int statsPort, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var stats = StatsReader.Read(statsPort);
            if (condition(stats) || DateTime.UtcNow > deadline) return stats;
            await Task.Delay(20);
        }
    }
}

/// <summary>A fact that runs only where nutcracker is installed.</summary>
public sealed class NutcrackerFactAttribute : FactAttribute
{
    public NutcrackerFactAttribute()
    {
        if (NutcrackerProcess.Binary is null) Skip = "nutcracker (twemproxy 0.5.0) is not installed";
    }
}
