using System.Text;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using Xunit.Abstractions;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// Legal replies at the edges (every RESP3 type, a 200 MB bulk string, a 1,000,000-element array, Lua tables nested
/// 10,000 deep or containing themselves), each compared byte for byte with the same command sent to a redis-server
/// directly, while a canary client on the same pool and server connection checks every one of its own replies.
/// </summary>
public sealed class UnusualReplyTests(UnusualReplyFixture fixture, ITestOutputHelper output) : IClassFixture<UnusualReplyFixture>
{
    private static readonly TimeSpan CanaryWait = TimeSpan.FromSeconds(10);

    public static TheoryData<string, int> LuaNesting() => new()
    {
        { "local t = {} local cur = t for i = 1, 10000 do local n = {} cur[1] = n cur = n end return t", 2 },
        { "local t = {} local cur = t for i = 1, 10000 do local n = {} cur[1] = n cur = n end return t", 3 },
        { "local a = {}; local b = {a}; a[1] = b; return a", 2 },
        { "local a = {}; local b = {a}; a[1] = b; return a", 3 },
    };

    [Theory]
    [MemberData(nameof(LuaNesting))]
    public async Task LuaTableNestedDeep_IsRedisReplyByteForByte_CanarySeesOnlyItsOwnReplies(string script, int protocol)
    {
        await WithCanaryAsync(fixture.Rampart.Port, () => AssertSameAsDirect(fixture.Rampart.Port, protocol, ["EVAL", script, "0"]));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task MillionElementArray_IsRedisReplyByteForByte_CanarySeesOnlyItsOwnReplies(int protocol)
    {
        fixture.OnBoth("DEL", "{u}million");
        fixture.OnBoth("EVAL", "for i = 1, 1000000, 1000 do local b = {} for j = i, i + 999 do b[#b + 1] = j end redis.call('RPUSH', KEYS[1], unpack(b)) end return 1", "1", "{u}million");
        await WithCanaryAsync(fixture.Rampart.Port, () =>
        {
            var reply = AssertSameAsDirect(fixture.Rampart.Port, protocol, ["LRANGE", "{u}million", "0", "-1"]);
            Assert.StartsWith("*1000000\r\n$1\r\n1\r\n", Encoding.ASCII.GetString(reply, 0, 20));
        });
    }

    [Fact]
    public async Task BulkStringOf200MB_IsRedisReplyByteForByte_CanarySeesOnlyItsOwnReplies()
    {
        const int size = 200 * 1024 * 1024;
        // Built inside each server: a 200 MB string of zeros with marks along it, so an offset slip shows.
        fixture.OnBoth("DEL", "{u}large");
        fixture.OnBoth("SETRANGE", "{u}large", (size - 4).ToString(), "end!");
        for (int mark = 0; mark < 20; mark++) fixture.OnBoth("SETRANGE", "{u}large", (mark * 10_000_019L).ToString(), $"mark-{mark}");

        await WithCanaryAsync(fixture.Rampart.Port, () =>
        {
            using var direct = new RawClient(fixture.Direct.Port);
            using var rampart = new RawClient(fixture.Rampart.Port);
            direct.Send(RespText.Command("GET", "{u}large"));
            rampart.Send(RespText.Command("GET", "{u}large"));
            Assert.Equal($"${size}", direct.ReadLine());
            Assert.Equal($"${size}", rampart.ReadLine());
            // Compared 1 MB at a time: neither side's 200 MB is ever held whole in the test.
            var a = new byte[1024 * 1024];
            var b = new byte[a.Length];
            long offset = 0;
            for (long left = size + 2L; left > 0; left -= a.Length)
            {
                int n = (int)Math.Min(a.Length, left);
                Assert.True(direct.TryReadExactly(a.AsSpan(0, n)), "the server closed the connection");
                Assert.True(rampart.TryReadExactly(b.AsSpan(0, n)), $"Rampart closed the connection after {offset} bytes");
                int diff = a.AsSpan(0, n).CommonPrefixLength(b.AsSpan(0, n));
                Assert.True(diff == n, $"the value differs from Redis's at byte {offset + diff}");
                offset += n;
            }
            Assert.Equal("+OK", SendAndReadLine(rampart, RespText.Command("SET", "{u}after", "1"))); // the connection goes on
        });
    }

    private static string SendAndReadLine(RawClient client, string request)
    {
        client.Send(request);
        return client.ReadLine();
    }

    /// <summary>The RESP3 types DEBUG PROTOCOL makes a server send (Redis 7.0's list).</summary>
    public static TheoryData<string, int> DebugProtocolTypes()
    {
        var data = new TheoryData<string, int>();
        foreach (string type in new[] { "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push", "verbatim", "true", "false" })
        {
            data.Add(type, 2);
            data.Add(type, 3);
        }
        return data;
    }

    /// <summary>
    /// A pool whose command policy lets DEBUG through (<c>commands: {allow: ["@admin", "@dangerous"]}</c>), read from
    /// YAML as a user writes it.
    /// </summary>
    private static async Task<RampartUnderTest> StartDebugAllowedPoolAsync(RedisServerProcess server)
    {
        string yaml = $"""
            debug:
              listen: 127.0.0.1:{FreePort.Next()}
              redis: true
              commands: {"{"}allow: ["@admin", "@dangerous"]{"}"}
              servers:
                - 127.0.0.1:{server.Port}:1 s0
            """;
        var loaded = ConfigLoader.LoadText(yaml, "(debug pool)");
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        var pool = loaded.Config!.Pools[0] with { Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 } };
        return await RampartUnderTest.StartAsync(pool, eventLoops: 1);
    }

    [Theory]
    [MemberData(nameof(DebugProtocolTypes))]
    public async Task DebugProtocol_EveryResp3Type_IsRedisReplyByteForByte_CanarySeesOnlyItsOwnReplies(string type, int protocol)
    {
        await using var rampart = await StartDebugAllowedPoolAsync(fixture.Server);
        await WithCanaryAsync(rampart.Port, () => AssertSameAsDirect(rampart.Port, protocol, ["DEBUG", "PROTOCOL", type]));
    }

    /// <summary>
    /// Sends <paramref name="command"/> to the reference server and through Rampart (after HELLO 3 for protocol 3) and
    /// asserts the replies are the same bytes; returns them.
    /// </summary>
    private byte[] AssertSameAsDirect(int rampartPort, int protocol, string[] command)
    {
        var differences = new List<Difference>();
        using var direct = Resp3Client.Connect(fixture.Direct.Port);
        using var rampart = Resp3Client.Connect(rampartPort);
        if (protocol == 3)
        {
            direct.Call("HELLO", "3");
            rampart.Call("HELLO", "3");
        }
        var request = RespTestClient.Command(command);
        direct.SendRaw(request);
        rampart.SendRaw(request);
        byte[] expected = ReadReply(direct);
        byte[] actual = ReadReply(rampart);
        output.WriteLine($"{command[0]} {(command.Length > 1 ? command[1][..Math.Min(40, command[1].Length)] : "")}: RESP{protocol}, {expected.Length} bytes from Redis, {actual.Length} through Rampart");
        if (!expected.AsSpan().SequenceEqual(actual))
            Assert.Fail(new Difference(new CorpusCommand("(test)", 0, command.Select(Encoding.UTF8.GetBytes).ToArray()), expected, actual).ToString());
        // What follows on the connection is still in order.
        Assert.Equal("+PONG\r\n", rampart.Call("PING"));
        return actual;
    }

    /// <summary>The frames of one reply: RESP3 pushes sent before it (DEBUG PROTOCOL push), then the reply itself.</summary>
    private static byte[] ReadReply(Resp3Client client)
    {
        var frames = new List<byte>();
        byte[] frame;
        do
        {
            frame = client.ReadFrame(30_000);
            frames.AddRange(frame);
        } while (frame[0] == (byte)'>');
        return [.. frames];
    }

    /// <summary>Runs <paramref name="unusual"/> while a canary pipelines on the same pool; the canary must see no error.</summary>
    private async Task WithCanaryAsync(int port, Action unusual)
    {
        await using var canary = new Canary(port);
        await WaitUntilAsync(() => canary.Rounds > 0 || canary.ErrorCount > 0, CanaryWait);
        int before = canary.Rounds;
        unusual();
        await WaitUntilAsync(() => canary.Rounds > before || canary.ErrorCount > 0, CanaryWait); // it ran on after
        await canary.StopAsync();
        output.WriteLine($"canary: {canary.Rounds} rounds of 16 SET/GET pairs, {canary.ErrorCount} errors");
        Assert.True(canary.ErrorCount == 0, "the canary saw: " + string.Join("; ", canary.Errors));
        Assert.True(canary.Rounds > before, "the canary made no progress");
    }
}
