using System.Diagnostics;
using System.Text;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;
using Xunit.Abstractions;

namespace Rampart.Proxy.Tests.Routing;

public sealed class KeyRouterTests(ITestOutputHelper output)
{
    private static PoolConfig Pool(string hash, string distribution, string? hashTag, params (string Name, int Weight)[] servers) => new()
    {
        Name = "p",
        Listen = new ListenAddress { Host = "127.0.0.1", Port = 22121 },
        Hash = hash,
        Distribution = distribution,
        HashTag = hashTag,
        Servers = servers.Select((s, i) => new ServerConfig { Host = "10.0.0.1", Port = 7000 + i, Weight = s.Weight, Name = s.Name }).ToList(),
    };

    private static int[] Place(KeyRouter router, int count) =>
        Enumerable.Range(0, count).Select(i => router.ServerFor(Encoding.ASCII.GetBytes($"key:{i}"))).ToArray();

    // Placement of "key:0".."key:29" observed on the real nutcracker 0.5.0 (servers "127.0.0.1:<port>:<weight> <name>",
    // so the addresses do not matter), by asking each redis-server which keys it held.
    [Theory]
    [InlineData("fnv1a_64", "ketama", "alpha:1 beta:1 gamma:1 delta:1", "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2")]
    [InlineData("hsieh", "ketama", "alpha:1 beta:1 gamma:1 delta:1", "2,3,0,2,1,2,1,3,2,0,2,2,0,3,1,0,3,2,0,1,1,1,1,3,1,3,3,1,3,3")]
    [InlineData("md5", "ketama", "s1:1 s2:2 s3:3 s4:5", "0,2,3,2,3,3,3,3,2,0,2,3,3,2,2,3,2,3,2,0,0,2,2,1,2,3,3,3,2,1")]
    [InlineData("murmur", "modula", "zeta:1 eta:2 theta:3 iota:1", "0,2,3,0,3,3,0,0,2,2,2,2,1,3,2,3,3,1,2,2,0,0,1,3,0,2,2,1,2,2")]
    public void Places_keys_as_nutcracker_did(string hash, string distribution, string servers, string expected)
    {
        var list = servers.Split(' ').Select(s => s.Split(':')).Select(p => (p[0], int.Parse(p[1]))).ToArray();
        var router = KeyRouter.Create(Pool(hash, distribution, null, list));
        Assert.Equal(expected, string.Join(",", Place(router, 30)));
    }

    // Points per server from nc_ketama.c's float expression, compiled with gcc on x86-64.
    [Theory]
    [InlineData("1,1,1", "160,160,160")]
    [InlineData("1,2,3", "80,160,240")]
    [InlineData("3,5,7,11", "72,120,172,268")]
    [InlineData("1,100", "0,316")]
    [InlineData("1,1,1,1,1,1,1", "160,160,160,160,160,160,160")]
    [InlineData("10,10,10", "160,160,160")]
    [InlineData("1,1,1,1,2", "132,132,132,132,264")]
    [InlineData("1,3,1,3,1,3", "80,240,80,240,80,240")]
    [InlineData("1,1,1000", "0,0,476")]
    [InlineData("2,3", "128,192")]
    public void Ketama_points_per_server_match_twemproxys_float_arithmetic(string weights, string expected)
    {
        var w = weights.Split(',').Select(int.Parse).ToArray();
        var points = w.Select(x => KetamaContinuum.PointsFor(x, w.Sum(), w.Length));
        Assert.Equal(expected, string.Join(",", points));

        var continuum = KetamaContinuum.Build(w.Select((x, i) => ($"s{i}", x)).ToList());
        var counts = w.Select((_, i) => continuum.PointServers.ToArray().Count(s => s == i));
        Assert.Equal(expected, string.Join(",", counts));
        Assert.True(continuum.PointValues.ToArray().SequenceEqual(continuum.PointValues.ToArray().Order()));
    }

    [Fact]
    public void Servers_are_ordered_as_twemproxy_sorts_them_by_name()
    {
        // string_compare: shorter first, then bytewise.
        var order = KeyDistribution.TwemproxyOrder([("zeta", 1), ("eta", 2), ("theta", 3), ("iota", 1)]);
        Assert.Equal([1, 3, 0, 2], order);
        var modula = ModulaDistribution.Build([("zeta", 1), ("eta", 2), ("theta", 3), ("iota", 1)]);
        Assert.Equal([1, 1, 3, 0, 2, 2, 2], modula.Slots.ToArray());
        // Shorter first: "127.0.0.1:9000" before "127.0.0.1:10000".
        Assert.Equal([1, 0], KeyDistribution.TwemproxyOrder([("127.0.0.1:10000", 1), ("127.0.0.1:9000", 1)]));
    }

    [Fact]
    public void Duplicate_names_are_refused_as_nutcracker_does()
    {
        Assert.Throws<ArgumentException>(() => KeyDistribution.Create(DistributionKind.Ketama, [("a", 1), ("b", 1), ("a", 2)]));
        // "10.0.0.1:11211:1" is named "10.0.0.1", the same as an explicit name "10.0.0.1".
        var pool = Pool("md5", "ketama", null, ("10.0.0.1", 1), ("x", 1)) with
        {
            Servers = [new ServerConfig { Host = "10.0.0.1", Port = 11211 }, new ServerConfig { Host = "10.0.0.2", Port = 1, Name = "10.0.0.1" }],
        };
        Assert.Throws<ArgumentException>(() => KeyRouter.Create(pool));
    }

    [Fact]
    public void Ketama_names_follow_conf_add_server()
    {
        Assert.Equal("cache-1", KeyRouter.KetamaName(new ServerConfig { Host = "10.0.0.1", Port = 6379, Name = "cache-1" }));
        Assert.Equal("10.0.0.1:6379", KeyRouter.KetamaName(new ServerConfig { Host = "10.0.0.1", Port = 6379 }));
        Assert.Equal("10.0.0.1", KeyRouter.KetamaName(new ServerConfig { Host = "10.0.0.1", Port = 11211 }));
        Assert.Equal("redis.local:6380", KeyRouter.KetamaName(new ServerConfig { Host = "redis.local", Port = 6380 }));
        Assert.Equal("/tmp/redis.sock:", KeyRouter.KetamaName(new ServerConfig { Host = "/tmp/redis.sock", Port = 0 }));
    }

    [Fact]
    public void Ejected_servers_get_no_keys_and_equal_weight_survivors_keep_theirs()
    {
        var router = KeyRouter.Create(Pool("fnv1a_32", "ketama", null, ("a", 1), ("b", 1), ("c", 1), ("d", 1)));
        var before = Place(router, 3000);
        var ejected = router.WithLiveServers([true, false, true, true]);
        Assert.Equal(3, ejected.Distribution.LiveServerCount);
        var after = Place(ejected, 3000);
        Assert.DoesNotContain(1, after);
        for (int i = 0; i < before.Length; i++)
            if (before[i] != 1) Assert.Equal(before[i], after[i]); // 160 points each before and after
        // The continuum with a live mask is the continuum of the survivors, indices kept.
        var survivors = KetamaContinuum.Build([("a", 1), ("c", 1), ("d", 1)]);
        int[] map = [0, 2, 3];
        var masked = (KetamaContinuum)ejected.Distribution;
        Assert.Equal(survivors.PointValues.ToArray(), masked.PointValues.ToArray());
        Assert.Equal(survivors.PointServers.ToArray().Select(i => map[i]), masked.PointServers.ToArray());

        var none = router.WithLiveServers([false, false, false, false]);
        Assert.Equal(-1, none.ServerFor("key"u8));
    }

    [Fact]
    public void Modula_rebuilds_on_ejection_from_live_weights()
    {
        var modula = ModulaDistribution.Build([("a", 2), ("b", 1), ("c", 3)], [true, false, true]);
        Assert.Equal([0, 0, 2, 2, 2], modula.Slots.ToArray());
        Assert.Equal(2, modula.ServerIndex(7)); // 7 % 5 = 2
    }

    [Fact]
    public void Random_picks_live_servers_ignoring_weight()
    {
        var router = KeyRouter.Create(Pool("md5", "random", null, ("a", 1), ("b", 50), ("c", 1)), [true, true, false]);
        var seen = new int[3];
        for (int i = 0; i < 4000; i++) seen[router.ServerFor("same-key"u8)]++;
        Assert.Equal(0, seen[2]);
        Assert.InRange(seen[0], 1500, 2500); // uniform over live servers, not by weight
    }

    [Fact]
    public void One_server_pools_skip_hashing_and_empty_keys_hash_to_zero()
    {
        var single = KeyRouter.Create(Pool("md5", "modula", null, ("a", 5)));
        Assert.Equal(0, single.ServerFor("anything"u8));
        var router = KeyRouter.Create(Pool("jenkins", "ketama", null, ("a", 1), ("b", 1)));
        Assert.Equal(0u, router.HashOf([])); // jenkins("") would be 0xdeadbeef + 13
        Assert.Equal(router.Distribution.ServerIndex(0), router.ServerFor([]));
    }

    [Fact]
    public void Hash_tag_selects_the_hashed_bytes()
    {
        var router = KeyRouter.Create(Pool("murmur", "ketama", "{}", ("a", 1), ("b", 1), ("c", 1)));
        Assert.Equal(KeyHash.Murmur("1000"u8), router.HashOf("user:{1000}:followers"u8));
        Assert.Equal(KeyHash.Murmur("a{}b"u8), router.HashOf("a{}b"u8));
        for (int i = 0; i < 100; i++)
            Assert.Equal(router.ServerFor(Encoding.ASCII.GetBytes($"{{tag{i}}}")), router.ServerFor(Encoding.ASCII.GetBytes($"x:{{tag{i}}}:y{i}")));
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{}}")]
    [InlineData("")]
    [InlineData("«»")] // 4 bytes in UTF-8: nutcracker counts bytes
    public void Invalid_hash_tags_are_refused(string tag) =>
        Assert.Throws<ArgumentException>(() => KeyRouter.Create(Pool("md5", "ketama", tag, ("a", 1), ("b", 1))));

    [Fact]
    public void Invalid_names_and_weights_are_refused()
    {
        Assert.Throws<ArgumentException>(() => KeyRouter.Create(Pool("sha1", "ketama", null, ("a", 1))));
        Assert.Throws<ArgumentException>(() => KeyRouter.Create(Pool("md5", "vnode", null, ("a", 1))));
        Assert.Throws<ArgumentException>(() => KeyRouter.Create(Pool("md5", "ketama", null, ("a", 0))));
        Assert.Throws<ArgumentException>(() => KeyRouter.Create(Pool("md5", "ketama", null, ("a", 1), ("b", 1)), [true]));
    }

    [Fact]
    public void ServerFor_does_not_allocate()
    {
        var routers = new[]
        {
            KeyRouter.Create(Pool("fnv1a_64", "ketama", "{}", ("a", 1), ("b", 2), ("c", 3))),
            KeyRouter.Create(Pool("md5", "modula", null, ("a", 1), ("b", 2), ("c", 3))),
            KeyRouter.Create(Pool("murmur", "random", null, ("a", 1), ("b", 2), ("c", 3))),
        };
        var key = "user:{1000}:followers"u8.ToArray();
        foreach (var r in routers) r.ServerFor(key);
        long before = GC.GetAllocatedBytesForCurrentThread();
        int sink = 0;
        for (int i = 0; i < 10_000; i++)
            foreach (var r in routers) sink += r.ServerFor(key);
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(after - before < 1024, $"{after - before} bytes allocated (sink {sink})");
    }

    [Fact]
    public void Ketama_build_is_cheap_enough_to_rerun_on_every_ejection()
    {
        var servers = Enumerable.Range(0, 100).Select(i => ($"10.0.{i / 250}.{i % 250}:6379", 1 + i % 3)).ToList();
        KetamaContinuum.Build(servers);
        var sw = Stopwatch.StartNew();
        var continuum = KetamaContinuum.Build(servers);
        sw.Stop();
        output.WriteLine($"100 servers, {continuum.PointValues.Length} points: {sw.Elapsed.TotalMilliseconds:F2} ms");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1));
    }
}
