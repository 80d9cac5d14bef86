using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Backends;

/// <summary>auto_eject_hosts with real servers: one of four killed, its keys move, then come back after the retry time.</summary>
public sealed class AutoEjectTests
{
    [Fact]
    public async Task OneOfFourShardsKilled_OthersUnaffected_ItsKeysMoveThenReturn()
    {
        var servers = Enumerable.Range(0, 4).Select(_ => RedisServerProcess.Start()).ToArray();
        RedisServerProcess? revived = null;
        try
        {
            var pool = RampartUnderTest.Pool(servers) with
            {
                AutoEjectHosts = true, ServerFailureLimit = 2, ServerRetryTimeoutMs = 1500, TimeoutMs = 500,
            };
            var router = KeyRouter.Create(pool);
            await using var rampart = await RampartUnderTest.StartAsync(pool);
            using var client = new RawClient(rampart.Port);
            var keys = Enumerable.Range(0, 200).Select(i => $"eject:{Guid.NewGuid():N}").ToArray();
            int Owner(string k) => router.ServerFor(Encoding.UTF8.GetBytes(k));
            var onDead = keys.Where(k => Owner(k) == 3).ToArray();
            var onLive = keys.Where(k => Owner(k) != 3).ToArray();
            Assert.NotEmpty(onDead);
            foreach (var k in keys) { client.Send(RespText.Command("SET", k, "v1")); Assert.Equal("+OK", client.ReadLine()); }

            int deadPort = servers[3].Port;
            servers[3].Kill();

            // Keys on the other shards never see an error, before, during and after the ejection.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            int deadErrors = 0;
            bool moved = false;
            while (DateTime.UtcNow < deadline && !moved)
            {
                foreach (var k in onLive.Take(20))
                {
                    client.Send(RespText.Command("GET", k));
                    Assert.Equal("$2", client.ReadLine());
                    Assert.Equal("v1", client.ReadLine());
                }
                client.Send(RespText.Command("SET", onDead[0], "v2"));
                string reply = client.ReadLine();
                if (reply == "+OK") moved = true;
                else { Assert.StartsWith("-ERR", reply); deadErrors++; }
            }
            Assert.True(moved, "the dead shard's keys never moved to the other servers");
            Assert.InRange(deadErrors, 1, 10);
            // Moved: the key now lives on one of the three live servers.
            Assert.Contains(servers.Take(3), s => s.Send(RespText.Command("GET", onDead[0])).Contains("v2"));
            // Counted as nutcracker counts it: the pool's server_ejects, the server's server_ejected_at.
            using (var stats = System.Text.Json.JsonDocument.Parse(rampart.Server.GetTwemproxyStatsJson()))
            {
                var testPool = stats.RootElement.GetProperty("test");
                Assert.True(testPool.GetProperty("server_ejects").GetInt64() >= 1);
                Assert.True(testPool.GetProperty("s3").GetProperty("server_ejected_at").GetInt64() > 0);
            }

            // Back: once the server returns and the retry time passes, its keys go to it again.
            revived = RedisServerProcess.StartOn(deadPort);
            deadline = DateTime.UtcNow.AddSeconds(15);
            bool returned = false;
            while (DateTime.UtcNow < deadline && !returned)
            {
                client.Send(RespText.Command("SET", onDead[1 % onDead.Length], "v3"));
                string reply = client.ReadLine();
                returned = reply == "+OK" && revived.Send(RespText.Command("GET", onDead[1 % onDead.Length])).Contains("v3");
                if (!returned) await Task.Delay(100);
            }
            Assert.True(returned, "the revived shard never received its keys again");
        }
        finally
        {
            revived?.Dispose();
            foreach (var s in servers) s.Dispose();
        }
    }

    [Fact]
    public async Task DeadServer_IsEjectedOncePerRetryPeriod_NotOncePerFailure()
    {
        using var live = RedisServerProcess.Start();
        var dead = RedisServerProcess.Start();
        try
        {
            var pool = RampartUnderTest.Pool(live, dead) with
            {
                AutoEjectHosts = true, ServerFailureLimit = 2, ServerRetryTimeoutMs = 1000, TimeoutMs = 500, ServerConnections = 4,
            };
            var router = KeyRouter.Create(pool);
            string onDead = Enumerable.Range(0, 1000).Select(i => $"once:{i}").First(k => router.ServerFor(Encoding.UTF8.GetBytes(k)) == 1);
            await using var rampart = await RampartUnderTest.StartAsync(pool);
            dead.Kill();

            // 8 clients hammer the dead server's key for 3.5 s: many failures at once, on 4 connections, and in flight.
            var started = DateTime.UtcNow;
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            {
                using var client = new RawClient(rampart.Port);
                while (DateTime.UtcNow - started < TimeSpan.FromSeconds(3.5))
                {
                    client.Send(RespText.Command("SET", onDead, "v"));
                    string reply = client.ReadLine();
                    Assert.True(reply == "+OK" || reply.StartsWith("-ERR", StringComparison.Ordinal), reply);
                }
            })));
            double periods = (DateTime.UtcNow - started).TotalMilliseconds / 1000;

            // As nutcracker counts: one ejection, then at most one more each time the retry period ends and the server
            // fails again.
            using var stats = System.Text.Json.JsonDocument.Parse(rampart.Server.GetTwemproxyStatsJson());
            long ejects = stats.RootElement.GetProperty("test").GetProperty("server_ejects").GetInt64();
            Assert.InRange(ejects, 1, (long)Math.Ceiling(periods) + 1);
        }
        finally
        {
            dead.Dispose();
        }
    }

    [Fact]
    public async Task WithoutAutoEject_DeadShardFailsFast_NoHang()
    {
        var servers = Enumerable.Range(0, 2).Select(_ => RedisServerProcess.Start()).ToArray();
        try
        {
            var pool = RampartUnderTest.Pool(servers);
            var router = KeyRouter.Create(pool);
            await using var rampart = await RampartUnderTest.StartAsync(pool);
            using var client = new RawClient(rampart.Port);
            string key = Enumerable.Range(0, 100).Select(i => $"ff:{i}:{Guid.NewGuid():N}").First(k => router.ServerFor(Encoding.UTF8.GetBytes(k)) == 1);
            servers[1].Kill();
            for (int i = 0; i < 5; i++)
            {
                var started = DateTime.UtcNow;
                client.Send(RespText.Command("GET", key));
                Assert.StartsWith("-ERR rampart: ", client.ReadLine());
                Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2));
            }
        }
        finally
        {
            foreach (var s in servers) s.Dispose();
        }
    }
}
