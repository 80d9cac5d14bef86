using System.Text;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Rampart.Proxy.Tests.Routing;

/// <summary>Four redis-servers, each on a free TCP port and a unix socket, started on first use and killed by PID.</summary>
public sealed class RedisQuartet : IDisposable
{
    private readonly Lazy<(RedisServerProcess[] Servers, string[] Sockets, string Dir)> _started;

    public RedisQuartet() => _started = new(Start);

    public RedisServerProcess[] Servers => _started.Value.Servers;
    public string[] UnixSockets => _started.Value.Sockets;

    private static (RedisServerProcess[], string[], string) Start()
    {
        var dir = Directory.CreateTempSubdirectory("rr-").FullName; // short: unix socket paths are limited to 107 bytes
        var servers = new List<RedisServerProcess>();
        var sockets = new string[4];
        try
        {
            for (int i = 0; i < 4; i++)
            {
                sockets[i] = Path.Combine(dir, $"r{i}.sock");
                servers.Add(RedisServerProcess.Start("--unixsocket", sockets[i], "--unixsocketperm", "700"));
            }
        }
        catch
        {
            foreach (var s in servers) s.Dispose();
            throw;
        }
        return ([.. servers], sockets, dir);
    }

    public void Dispose()
    {
        if (!_started.IsValueCreated) return;
        foreach (var server in _started.Value.Servers) server.Dispose();
        try { Directory.Delete(_started.Value.Dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// Writes ~2,000 keys through a real nutcracker 0.5.0, asks each redis-server which keys it holds, and checks that
/// <see cref="KeyRouter"/> puts every key on the same server.
/// </summary>
public sealed class NutcrackerPlacementTests(RedisQuartet redis, ITestOutputHelper output) : IClassFixture<RedisQuartet>
{
    public sealed record Case(string Hash, string Distribution, int[] Weights, string? HashTag = null,
        string?[]? Names = null, bool[]? Unix = null);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["fnv1a_64 ketama"] = new("fnv1a_64", "ketama", [1, 1, 1, 1]),
        ["murmur modula weights 1,2,3,1"] = new("murmur", "modula", [1, 2, 3, 1]),
        ["md5 ketama weights 1,2,3,5"] = new("md5", "ketama", [1, 2, 3, 5]),
        ["md5 ketama weights 1,100 (a server with no points)"] = new("md5", "ketama", [1, 100]),
        ["fnv1a_64 ketama named servers"] = new("fnv1a_64", "ketama", [1, 1, 1, 1], Names: ["alpha", "beta", "gamma", "delta"]),
        ["fnv1a_64 ketama named, unequal weights"] = new("fnv1a_64", "ketama", [2, 1, 3, 1], Names: ["redis-a", "redis-b", "redis-c", "redis-d"]),
        ["crc32a ketama hash_tag {}"] = new("crc32a", "ketama", [1, 1, 1, 1], HashTag: "{}"),
        ["murmur modula hash_tag $$"] = new("murmur", "modula", [1, 1, 1, 1], HashTag: "$$"),
        ["md5 ketama unix sockets"] = new("md5", "ketama", [1, 1, 1, 1], Unix: [true, false, true, false]),
        ["one_at_a_time ketama"] = new("one_at_a_time", "ketama", [1, 1, 1, 1]),
        ["one_at_a_time modula"] = new("one_at_a_time", "modula", [1, 1, 1, 1]),
        ["crc16 modula"] = new("crc16", "modula", [1, 1, 1, 1]),
        ["crc16 modula weights 1,1,1 (not a power of two)"] = new("crc16", "modula", [1, 1, 1]),
        ["crc16 ketama"] = new("crc16", "ketama", [1, 1, 1, 1]),
        ["crc32 modula weights 2,1,2"] = new("crc32", "modula", [2, 1, 2]),
        ["crc32 ketama"] = new("crc32", "ketama", [1, 1, 1, 1]),
        ["crc32 modula"] = new("crc32", "modula", [1, 1, 1, 1]),
        ["fnv1_64 modula"] = new("fnv1_64", "modula", [1, 1, 1, 1]),
        ["fnv1_32 ketama"] = new("fnv1_32", "ketama", [1, 1, 1, 1]),
        ["fnv1a_32 modula"] = new("fnv1a_32", "modula", [1, 1, 1, 1]),
        ["hsieh modula"] = new("hsieh", "modula", [1, 1, 1, 1]),
        ["hsieh ketama"] = new("hsieh", "ketama", [1, 1, 1, 1]),
        ["jenkins modula"] = new("jenkins", "modula", [3, 1, 1, 2]),
        ["jenkins ketama"] = new("jenkins", "ketama", [1, 1, 1, 1]),
        ["murmur ketama"] = new("murmur", "ketama", [1, 1, 1, 1]),
        ["md5 modula"] = new("md5", "modula", [1, 1, 1, 1]),
        ["fnv1a_64 modula"] = new("fnv1a_64", "modula", [5, 1, 1, 1]),
    };

    public static IEnumerable<object[]> CaseNames => Cases.Keys.Select(k => new object[] { k });

    [NutcrackerTheory]
    [MemberData(nameof(CaseNames))]
    public void KeyRouter_places_every_key_where_nutcracker_does(string caseName)
    {
        var c = Cases[caseName];
        int n = c.Weights.Length;
        var servers = redis.Servers.Take(n).ToArray();
        foreach (var server in servers) Assert.StartsWith("+OK", server.Send("*1\r\n$8\r\nFLUSHALL\r\n"));

        var serverConfigs = new List<ServerConfig>();
        var yaml = new StringBuilder();
        yaml.Append($"  hash: {c.Hash}\n  distribution: {c.Distribution}\n  redis: true\n");
        if (c.HashTag is not null) yaml.Append($"  hash_tag: \"{c.HashTag}\"\n");
        yaml.Append("  servers:\n");
        for (int i = 0; i < n; i++)
        {
            bool unix = c.Unix?[i] ?? false;
            var name = c.Names?[i];
            var server = unix
                ? new ServerConfig { Host = redis.UnixSockets[i], Port = 0, Weight = c.Weights[i], Name = name }
                : new ServerConfig { Host = "127.0.0.1", Port = servers[i].Port, Weight = c.Weights[i], Name = name };
            serverConfigs.Add(server);
            var address = unix ? server.Host : $"{server.Host}:{server.Port}";
            yaml.Append($"    - {address}:{server.Weight}{(name is null ? "" : " " + name)}\n");
        }
        var pool = new PoolConfig
        {
            Name = "test",
            Listen = new ListenAddress { Host = "127.0.0.1", Port = 1 },
            Hash = c.Hash,
            Distribution = c.Distribution,
            HashTag = c.HashTag,
            Servers = serverConfigs,
        };
        var router = KeyRouter.Create(pool);
        var keys = TestKeys.Placement();

        // Write every key through nutcracker, pipelined.
        using (var nutcracker = NutcrackerProcess.Start(yaml.ToString()))
        using (var client = RespTestClient.ConnectTcp(nutcracker.Port))
        {
            for (int start = 0; start < keys.Count; start += 100)
            {
                var batch = keys.Skip(start).Take(100).ToList();
                var bytes = new MemoryStream();
                foreach (var key in batch) bytes.Write(RespTestClient.Command(Encoding.ASCII.GetBytes("SET"), key, "1"u8.ToArray()));
                client.Send(bytes.ToArray());
                foreach (var key in batch)
                {
                    var reply = client.ReadReply();
                    Assert.True(reply is "OK", $"SET {Convert.ToHexString(key)} through nutcracker: {reply}\n{File.ReadAllText(nutcracker.LogFile)}");
                }
            }
        }

        // Ask every server what it holds.
        var actual = new Dictionary<string, int>();
        for (int i = 0; i < n; i++)
        {
            using var direct = RespTestClient.ConnectTcp(servers[i].Port);
            var held = Assert.IsType<object?[]>(direct.Call("KEYS", "*"));
            foreach (var item in held)
            {
                var hex = Convert.ToHexString(Assert.IsType<byte[]>(item));
                Assert.False(actual.ContainsKey(hex), $"key {hex} is on two servers");
                actual[hex] = i;
            }
        }
        Assert.Equal(keys.Count, actual.Count);

        var mismatches = new List<string>();
        var perServer = new int[n];
        foreach (var key in keys)
        {
            var hex = Convert.ToHexString(key);
            int expected = router.ServerFor(key);
            perServer[actual[hex]]++;
            if (expected != actual[hex])
                mismatches.Add($"key {hex} ('{Encoding.UTF8.GetString(key)}'): nutcracker server {actual[hex]}, KeyRouter {expected}");
        }
        output.WriteLine($"{caseName}: {keys.Count} keys, per server [{string.Join(", ", perServer)}], {mismatches.Count} mismatches");
        Assert.True(mismatches.Count == 0,
            $"{mismatches.Count} of {keys.Count} keys placed differently:\n{string.Join("\n", mismatches.Take(20))}");
    }
}

internal static class TestKeys
{
    /// <summary>~2,000 distinct keys: plain, hash-tag shaped (all the edge cases), high bytes, binary, and the empty key.</summary>
    public static List<byte[]> Placement()
    {
        var keys = new List<byte[]>();
        var seen = new HashSet<string>();
        void Add(byte[] key)
        {
            if (seen.Add(Convert.ToHexString(key))) keys.Add(key);
        }
        void AddText(string key) => Add(Encoding.UTF8.GetBytes(key));

        AddText("");
        for (int i = 0; i < 900; i++) AddText($"key:{i}");
        for (int i = 0; i < 150; i++) AddText($"user:{{{i % 40}}}:followers:{i}");
        for (int i = 0; i < 40; i++) AddText($"a{{}}b{i}");          // empty tag: whole key
        for (int i = 0; i < 40; i++) AddText($"x{{{i}");             // no close: whole key
        for (int i = 0; i < 40; i++) AddText($"}}{i}{{");            // close before open
        for (int i = 0; i < 40; i++) AddText($"{{{{{i}}}}}");        // nested: "{i"
        for (int i = 0; i < 40; i++) AddText($"{{{i % 7}}}{{z{i}}}"); // two tags: the first
        for (int i = 0; i < 40; i++) AddText($"{{}}{{{i}}}");        // empty first tag, then a tag: whole key
        for (int i = 0; i < 40; i++) AddText($"t${i % 9}$u{i}");     // for hash_tag "$$"
        for (int i = 0; i < 40; i++) AddText($"t$$u{i}");
        for (int i = 0; i < 60; i++) AddText($"clé:{i}:ünïcødé");    // bytes >= 0x80 (signed char quirks)
        var random = new Random(20240601);
        while (keys.Count < 2000)
        {
            var key = new byte[random.Next(1, 41)];
            random.NextBytes(key);
            Add(key);
        }
        return keys;
    }
}
