using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>
/// CLIENT LIST/INFO/KILL/SETNAME and HELLO answered about Rampart's own clients, in Redis 7.0's formats; the error
/// texts are compared byte for byte with a real Redis in <see cref="LocalCommandTests"/>.
/// </summary>
public sealed class ClientCommandTests(ProxiedRedisFixture fixture) : IClassFixture<ProxiedRedisFixture>
{
    private RespTestClient Connect() => RespTestClient.ConnectTcp(fixture.Rampart.Port);

    /// <summary>CLIENT LIST lines as field maps, keyed by id.</summary>
    private static Dictionary<long, Dictionary<string, string>> Parse(object? reply)
    {
        string text = Encoding.UTF8.GetString(Assert.IsType<byte[]>(reply));
        if (text.Length > 0) Assert.EndsWith("\n", text);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(ParseLine)
            .ToDictionary(f => long.Parse(f["id"]));
    }

    private static Dictionary<string, string> ParseLine(string line) =>
        line.TrimEnd('\n').Split(' ').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    private static string[] FieldNames(string line) => line.TrimEnd('\n').Split(' ').Select(p => p.Split('=')[0]).ToArray();

    [Fact]
    public void ClientList_ShowsATransactionAndSubscriptions_AsRedisDoes()
    {
        using var inMulti = Connect();
        using var subscriber = Connect();
        using var plain = Connect();
        long idMulti = (long)inMulti.Call("CLIENT", "ID")!;
        long idSubscriber = (long)subscriber.Call("CLIENT", "ID")!;
        long idPlain = (long)plain.Call("CLIENT", "ID")!;

        Assert.Equal("OK", inMulti.CallText("MULTI"));
        Assert.Equal("QUEUED", inMulti.CallText("SET", "cl:multi", "1"));
        Assert.Equal("QUEUED", inMulti.CallText("GET", "cl:multi"));
        subscriber.Call("SUBSCRIBE", "cl:a", "cl:b");
        subscriber.ReadReply(); // the second confirmation
        subscriber.Call("PSUBSCRIBE", "cl:*");

        var lines = Parse(plain.Call("CLIENT", "LIST"));
        Assert.Equal(("x", "2", "0"), (lines[idMulti]["flags"], lines[idMulti]["multi"], lines[idMulti]["sub"]));
        Assert.Equal(("P", "2", "1", "-1"),
            (lines[idSubscriber]["flags"], lines[idSubscriber]["sub"], lines[idSubscriber]["psub"], lines[idSubscriber]["multi"]));
        Assert.Equal(("N", "0", "-1"), (lines[idPlain]["flags"], lines[idPlain]["sub"], lines[idPlain]["multi"]));

        // Once the state ends, so does what CLIENT LIST shows.
        Assert.IsType<object?[]>(inMulti.Call("EXEC"));
        Assert.Equal("N", Parse(plain.Call("CLIENT", "LIST"))[idMulti]["flags"]);
    }

    [Fact]
    public void ClientList_ShowsAClientBlockedInBlpop_AsRedisDoes()
    {
        using var blocked = Connect();
        using var plain = Connect();
        long id = (long)blocked.Call("CLIENT", "ID")!;
        string key = $"cl:blocked:{Guid.NewGuid():N}";

        blocked.Send(RespTestClient.Command("BLPOP", key, "10"));
        // The call reaches its dedicated connection asynchronously: look until it shows (bounded).
        var deadline = DateTime.UtcNow.AddSeconds(5);
        string flags;
        do flags = Parse(plain.Call("CLIENT", "LIST"))[id]["flags"];
        while (flags != "b" && DateTime.UtcNow < deadline && Sleep(20));
        Assert.Equal("b", flags);
        Assert.Equal("N", Parse(plain.Call("CLIENT", "LIST"))[(long)plain.Call("CLIENT", "ID")!]["flags"]);

        Assert.Equal(1L, plain.Call("LPUSH", key, "v"));
        Assert.Equal(new object?[] { Encoding.UTF8.GetBytes(key), "v"u8.ToArray() }, blocked.ReadReply());
        Assert.Equal("N", Parse(plain.Call("CLIENT", "LIST"))[id]["flags"]);
    }

    private static bool Sleep(int ms)
    {
        Thread.Sleep(ms);
        return true;
    }

    [Fact]
    public void ClientList_ListsRampartsClients_WithRedisFieldsInRedisOrder()
    {
        using var a = Connect();
        using var b = Connect();
        Assert.Equal("OK", a.Call("CLIENT", "SETNAME", "alpha"));
        long idA = (long)a.Call("CLIENT", "ID")!;
        long idB = (long)b.Call("CLIENT", "ID")!;

        using var asker = Connect();
        long idAsker = (long)asker.Call("CLIENT", "ID")!;
        var lines = Parse(asker.Call("CLIENT", "LIST"));
        Assert.Contains(idA, lines.Keys);
        Assert.Contains(idB, lines.Keys);
        Assert.Equal(a.LocalEndPoint, lines[idA]["addr"]);
        Assert.Equal(b.LocalEndPoint, lines[idB]["addr"]);
        Assert.Equal(fixture.Rampart.Endpoint, lines[idA]["laddr"]);
        Assert.Equal("alpha", lines[idA]["name"]);
        Assert.Equal("", lines[idB]["name"]);
        Assert.Equal("client|id", lines[idA]["cmd"]);
        Assert.Equal("client|list", lines[idAsker]["cmd"]);
        Assert.Equal("0", lines[idA]["db"]);

        // Same fields, same order as the real server prints them.
        using var direct = RespTestClient.ConnectTcp(fixture.Redis.Port);
        string redisLine = Encoding.UTF8.GetString((byte[])direct.Call("CLIENT", "INFO")!);
        string ourLine = Encoding.UTF8.GetString((byte[])a.Call("CLIENT", "INFO")!);
        Assert.Equal(FieldNames(redisLine), FieldNames(ourLine));
        Assert.Equal("client|info", ParseLine(ourLine)["cmd"]);
        Assert.Equal(idA.ToString(), ParseLine(ourLine)["id"]);
    }

    [Fact]
    public void ClientList_FiltersByIdAndType()
    {
        using var a = Connect();
        using var b = Connect();
        long idA = (long)a.Call("CLIENT", "ID")!;
        long idB = (long)b.Call("CLIENT", "ID")!;
        Assert.Equal([idB], Parse(a.Call("CLIENT", "LIST", "ID", idB.ToString())).Keys);
        Assert.Equal(new[] { idA, idB }, Parse(a.Call("CLIENT", "LIST", "ID", idB.ToString(), idA.ToString(), "999999999")).Keys.Order());
        Assert.Contains(idA, Parse(a.Call("CLIENT", "LIST", "TYPE", "normal")).Keys);
        Assert.Equal(Array.Empty<byte>(), a.Call("CLIENT", "LIST", "TYPE", "replica"));
    }

    [Fact]
    public void ClientList_IdleCountsSecondsSinceTheClientLastSentSomething()
    {
        using var sleeper = Connect();
        long id = (long)sleeper.Call("CLIENT", "ID")!;
        using var asker = Connect();
        Thread.Sleep(2100);
        var idle = long.Parse(Parse(asker.Call("CLIENT", "LIST", "ID", id.ToString()))[id]["idle"]);
        Assert.InRange(idle, 2, 30);
        sleeper.Call("PING");
        idle = long.Parse(Parse(asker.Call("CLIENT", "LIST", "ID", id.ToString()))[id]["idle"]);
        Assert.Equal(0, idle);
        Assert.InRange(long.Parse(Parse(asker.Call("CLIENT", "LIST", "ID", id.ToString()))[id]["age"]), 2, 30);
    }

    [Fact]
    public void ClientKillById_ClosesThatClientOnly()
    {
        using var killer = Connect();
        using var victim = Connect();
        using var bystander = Connect();
        Assert.Equal("OK", victim.Call("SET", "kill:victim", "v"));
        long victimId = (long)victim.Call("CLIENT", "ID")!;

        Assert.Equal(1L, killer.Call("CLIENT", "KILL", "ID", victimId.ToString()));
        Assert.Throws<IOException>(() => victim.Call("PING"));
        Assert.Equal("PONG", killer.Call("PING"));
        Assert.Equal("v", bystander.CallText("GET", "kill:victim"));
        Assert.Empty(Parse(killer.Call("CLIENT", "LIST", "ID", victimId.ToString())));
        Assert.Equal(0L, killer.Call("CLIENT", "KILL", "ID", victimId.ToString()));
    }

    [Fact]
    public void ClientKillByAddr_NewAndOldForm()
    {
        using var killer = Connect();
        using var first = Connect();
        using var second = Connect();
        Assert.Equal("PONG", first.Call("PING")); // both accepted by Rampart before they are looked for
        Assert.Equal("PONG", second.Call("PING"));
        Assert.Equal(1L, killer.Call("CLIENT", "KILL", "ADDR", first.LocalEndPoint));
        Assert.Throws<IOException>(() => first.Call("PING"));
        Assert.Equal("OK", killer.Call("CLIENT", "KILL", second.LocalEndPoint));
        Assert.Throws<IOException>(() => second.Call("PING"));
        Assert.Equal(new RespError("ERR No such client"), killer.Call("CLIENT", "KILL", second.LocalEndPoint));
    }

    [Fact]
    public async Task ClientKillByLaddr_SkipsTheCallerUnlessSkipmeNo()
    {
        // A pool of its own, so no other test's clients share the listener address.
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        {
            using var caller = RespTestClient.ConnectTcp(rampart.Port);
            using var other1 = RespTestClient.ConnectTcp(rampart.Port);
            using var other2 = RespTestClient.ConnectTcp(rampart.Port);
            Assert.Equal("PONG", other1.Call("PING"));
            Assert.Equal("PONG", other2.Call("PING"));
            Assert.Equal(2L, caller.Call("CLIENT", "KILL", "LADDR", rampart.Endpoint));
            Assert.Throws<IOException>(() => other1.Call("PING"));
            Assert.Throws<IOException>(() => other2.Call("PING"));

            // Killing itself: the reply comes first, then the connection closes, as in Redis.
            Assert.Equal(1L, caller.Call("CLIENT", "KILL", "LADDR", rampart.Endpoint, "SKIPME", "no"));
            Assert.Throws<IOException>(() => caller.ReadReply());
        }
    }

    [Theory]
    [InlineData("CLIENT REPLY OFF|SET {k} 1|GET {k}|INCR {k}|NOSUCH|CLIENT REPLY ON|GET {k}")]
    [InlineData("CLIENT REPLY SKIP|SET {k} 1|GET {k}|CLIENT REPLY SKIP|CLIENT REPLY ON|GET {k}")]
    [InlineData("CLIENT REPLY ON|CLIENT REPLY maybe|CLIENT REPLY OFF|CLIENT REPLY maybe|CLIENT REPLY ON|PING")]
    [InlineData("CLIENT REPLY OFF|PING|RESET|PING|CLIENT REPLY SKIP|RESET|PING")]
    [InlineData("CLIENT REPLY OFF|MSET {k}a 1 {k}b 2|MGET {k}a {k}b x|CLIENT REPLY SKIP|MGET {k}a {k}b|CLIENT REPLY ON|CLIENT REPLY SKIP|MGET {k}a {k}b x|MGET {k}b {k}a")]
    public void ClientReply_OffSkipOn_DropsExactlyTheRepliesRedisDrops(string script)
    {
        string key = $"reply:{Guid.NewGuid():N}";
        var commands = script.Split('|').Select(c => c.Replace("{k}", key).Split(' ')).ToArray();
        string raw = string.Concat(commands.Select(c => RespText.Command(c))) + RespText.Command("ECHO", "end");

        string expected = ReadUntilEnd(fixture.Redis.Port, raw);
        Assert.EndsWith("$3\r\nend\r\n", expected);
        Assert.Equal(expected, ReadUntilEnd(fixture.Rampart.Port, raw));
    }

    /// <summary>Sends <paramref name="raw"/> and reads until the closing ECHO's reply.</summary>
    private static string ReadUntilEnd(int port, string raw)
    {
        using var client = new RawClient(port);
        client.Send(raw);
        var text = new StringBuilder();
        while (!text.ToString().EndsWith("$3\r\nend\r\n"))
        {
            string line = client.ReadLine();
            Assert.True(line.Length > 0 || text.Length < 100_000, "no closing reply");
            text.Append(line).Append("\r\n");
        }
        return text.ToString();
    }

    [Fact]
    public void HelloSetname_NamesTheClient()
    {
        using var client = Connect();
        var hello = Assert.IsType<object?[]>(client.CallText("HELLO", "2", "SETNAME", "via-hello"));
        Assert.Equal("id", hello[6]);
        Assert.Equal(client.Call("CLIENT", "ID"), hello[7]);
        Assert.Equal("via-hello", client.CallText("CLIENT", "GETNAME"));
    }

    [Fact]
    public async Task HelloAuth_OnAPoolWithPassword_AuthenticatesAndSetsName_InOneCommand()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "s3cret");
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { RedisAuth = "s3cret" });
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal(new RespError("NOAUTH Authentication required."), client.Call("GET", "k"));
        Assert.StartsWith("NOAUTH HELLO must be called with the client already authenticated",
            Assert.IsType<RespError>(client.Call("HELLO", "2", "SETNAME", "early")).Message);
        Assert.Equal(new RespError("WRONGPASS invalid username-password pair or user is disabled."),
            client.Call("HELLO", "2", "AUTH", "default", "wrong", "SETNAME", "app"));
        Assert.Equal(new RespError("NOAUTH Authentication required."), client.Call("CLIENT", "GETNAME"));

        var hello = Assert.IsType<object?[]>(client.CallText("HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "app"));
        Assert.Equal(14, hello.Length);
        Assert.Equal("app", client.CallText("CLIENT", "GETNAME"));
        Assert.Equal("OK", client.Call("SET", "k", "v"));
    }
}
