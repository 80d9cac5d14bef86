using System.Text;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.EndToEnd;

/// <summary>
/// Pub/sub for a client that said HELLO 3, through a 3-server pool: confirmations and messages are RESP3 push frames
/// (from a dedicated connection whose own handshake said HELLO 3), any command runs while subscribed and its reply
/// takes its place among the pushes, and unsubscribing from everything returns the client to the shared path.
/// </summary>
public sealed class Resp3PubSubTests(ShardedPoolFixture fixture) : IClassFixture<ShardedPoolFixture>
{
    private static string Push(params string[] items) => $">{items.Length}\r\n" + string.Concat(items.Select(i => i[0] == ':' ? i + "\r\n" : RespText.Bulk(i)));

    private string KeyOn(int server, string prefix, bool onServer = true)
    {
        for (int i = 0; ; i++)
        {
            string key = $"{prefix}:{Guid.NewGuid():N}";
            if ((fixture.Router.ServerFor(Encoding.UTF8.GetBytes(key)) == server) == onServer) return key;
        }
    }

    [Fact]
    public async Task Subscribed_Resp3Client_GetsPushes_AndRunsAnyCommand_ThenUnsubscribesBackToNormal()
    {
        // Plain channels and patterns live on the pool's first server; a shard channel on the server its name hashes to.
        string run = Guid.NewGuid().ToString("N");
        string channel = $"news:{run}", pattern = $"evt:{run}:*", shard = KeyOn(0, $"shard:{run}");
        string here = KeyOn(0, "resp3:here"), there = KeyOn(0, "resp3:there", onServer: false), missing = KeyOn(0, "resp3:none");
        using var publisher = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        Assert.Equal("OK", publisher.Ask("SET", here, "h"));
        Assert.Equal("OK", publisher.Ask("SET", there, "t"));

        // (The fixture's StackExchange.Redis client holds one dedicated connection for its own subscription.)
        // Earlier tests' subscribers give their connections back after they close: wait for that before counting.
        var pinned = fixture.Rampart.Server.GetPool("test").Routing.Default.Pinned;
        await WaitUntilAsync(() => pinned.Open - pinned.Idle <= 1, TimeSpan.FromSeconds(10));
        int busyBefore = pinned.Open - pinned.Idle;
        using var sub = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        Assert.Equal(Push("subscribe", channel, ":1"), sub.Call("SUBSCRIBE", channel));
        Assert.Equal(busyBefore + 1, pinned.Open - pinned.Idle);
        Assert.Equal(Push("psubscribe", pattern, ":2"), sub.Call("PSUBSCRIBE", pattern));
        Assert.Equal(Push("ssubscribe", shard, ":1"), sub.Call("SSUBSCRIBE", shard));

        Assert.Equal("1", publisher.Ask("PUBLISH", channel, "m1"));
        Assert.Equal(Push("message", channel, "m1"), sub.Read());
        Assert.Equal("1", publisher.Ask("PUBLISH", $"evt:{run}:x", "m2"));
        Assert.Equal(Push("pmessage", pattern, $"evt:{run}:x", "m2"), sub.Read());
        Assert.Equal("1", publisher.Ask("SPUBLISH", shard, "m3"));
        Assert.Equal(Push("smessage", shard, "m3"), sub.Read());

        // Any command while subscribed, as Redis allows a RESP3 client: on the subscribed connection when its keys
        // live there, on the shared path otherwise, answered by Rampart when it is Rampart's; each reply in order.
        Assert.Equal("$1\r\nh\r\n", sub.Call("GET", here));
        Assert.Equal("_\r\n", sub.Call("GET", missing));
        Assert.Equal("$1\r\nt\r\n", sub.Call("GET", there));
        Assert.Equal("*3\r\n$1\r\nh\r\n$1\r\nt\r\n_\r\n", sub.Call("MGET", here, there, missing));
        Assert.Equal("_\r\n", sub.Call("CLIENT", "GETNAME"));
        Assert.Equal("+OK\r\n", sub.Call("CLIENT", "SETNAME", "listener"));
        Assert.Equal("+PONG\r\n", sub.Call("PING"));
        Assert.Contains(" flags=P ", sub.Call("CLIENT", "INFO"));
        Assert.Equal("%1\r\n$1\r\nf\r\n$1\r\nv\r\n", Pipelined(sub, ["HSET", here + ":h", "f", "v"], ["HGETALL", here + ":h"])[1]);
        // A blocking call would hold up the messages behind it: refused with the reason.
        Assert.StartsWith("-ERR rampart: 'BLPOP' is not supported while subscribed", sub.Call("BLPOP", here + ":l", "1"));

        // Pipelined: a message published meanwhile arrives as a push between replies, never in a reply's place.
        sub.SendRaw([.. RespTestClient.Command("GET", here), .. RespTestClient.Command("GET", there)]);
        Assert.Equal("1", publisher.Ask("PUBLISH", channel, "m4"));
        var frames = new[] { sub.Read(), sub.Read(), sub.Read() };
        Assert.Equal(["$1\r\nh\r\n", "$1\r\nt\r\n"], frames.Where(f => f[0] != '>'));
        Assert.Equal([Push("message", channel, "m4")], frames.Where(f => f[0] == '>'));

        Assert.Equal(Push("unsubscribe", channel, ":1"), sub.Call("UNSUBSCRIBE"));
        Assert.Equal(Push("punsubscribe", pattern, ":0"), sub.Call("PUNSUBSCRIBE"));
        Assert.Equal(Push("sunsubscribe", shard, ":0"), sub.Call("SUNSUBSCRIBE"));
        Assert.Equal("0", publisher.Ask("PUBLISH", channel, "nobody"));
        Assert.Equal("$1\r\nh\r\n", sub.Call("GET", here));
        Assert.Contains(" flags=N ", sub.Call("CLIENT", "INFO"));
        Assert.True(sub.IsQuietFor(200));

        // Back on the shared path: the dedicated connection went back to the pool, idle.
        await WaitUntilAsync(() => pinned.Open - pinned.Idle == busyBefore, TimeSpan.FromSeconds(5));
    }

    /// <summary>
    /// While subscribed, a RESP3 client's transactions and WATCH run on its subscribed connection when their keys live
    /// on its server, with messages arriving as pushes in between; keys of another server get CROSSSLOT and EXECABORT.
    /// </summary>
    [Fact]
    public void Subscribed_Resp3Client_RunsTransactionsOnItsServer_AndGetsCrossSlotForOthers()
    {
        string channel = $"tx:{Guid.NewGuid():N}";
        string here = KeyOn(0, "resp3:txhere"), counter = KeyOn(0, "resp3:txcount"), there = KeyOn(0, "resp3:txthere", onServer: false);
        using var publisher = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        using var other = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        Assert.Equal("OK", publisher.Ask("SET", there, "untouched"));
        using var sub = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        Assert.Equal(Push("subscribe", channel, ":1"), sub.Call("SUBSCRIBE", channel));

        // A transaction pipelined, a message published while it runs: the push comes between, never in a reply's place.
        sub.SendRaw([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("SET", here, "v"), .. RespTestClient.Command("INCR", counter)]);
        Assert.Equal("1", publisher.Ask("PUBLISH", channel, "during"));
        sub.SendRaw(RespTestClient.Command("EXEC"));
        var frames = Enumerable.Range(0, 5).Select(_ => sub.Read()).ToArray();
        Assert.Equal(["+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*2\r\n+OK\r\n:1\r\n"], frames.Where(f => f[0] != '>'));
        Assert.Equal([Push("message", channel, "during")], frames.Where(f => f[0] == '>'));

        // WATCH on the subscribed connection, a change by another client: EXEC answers RESP3's null.
        Assert.Equal("+OK\r\n", sub.Call("WATCH", here));
        Assert.Equal("+OK\r\n", other.Call("SET", here, "theirs"));
        Assert.Equal("+OK\r\n", sub.Call("MULTI"));
        Assert.Equal("+QUEUED\r\n", sub.Call("SET", here, "mine"));
        Assert.Equal("_\r\n", sub.Call("EXEC"));
        Assert.Equal(RespText.Bulk("theirs"), sub.Call("GET", here));

        // A key of another server inside MULTI: CROSSSLOT, then EXECABORT, and nothing of it ran.
        Assert.Equal("+OK\r\n", sub.Call("MULTI"));
        Assert.Equal("+QUEUED\r\n", sub.Call("SET", here, "aborted"));
        Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot\r\n", sub.Call("SET", there, "x"));
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.\r\n", sub.Call("EXEC"));
        Assert.Equal(RespText.Bulk("theirs"), sub.Call("GET", here));
        Assert.Equal(RespText.Bulk("untouched"), sub.Call("GET", there));
        Assert.Equal("+OK\r\n", sub.Call("MULTI"));
        Assert.StartsWith("-ERR rampart: 'CLIENT GETNAME' inside MULTI is not supported", sub.Call("CLIENT", "GETNAME"));
        Assert.Equal("+OK\r\n", sub.Call("DISCARD"));
        Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot\r\n", sub.Call("WATCH", there));
        // The subscribe family inside MULTI: refused as outside subscribed mode (its count could not follow EXEC).
        Assert.Equal("+OK\r\n", sub.Call("MULTI"));
        Assert.Equal("-ERR rampart: 'SUBSCRIBE' inside MULTI is not supported\r\n", sub.Call("SUBSCRIBE", channel + ":more"));
        Assert.Equal("-ERR rampart: 'UNSUBSCRIBE' inside MULTI is not supported\r\n", sub.Call("UNSUBSCRIBE", channel));
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.\r\n", sub.Call("EXEC"));
        Assert.Equal("0", publisher.Ask("PUBLISH", channel + ":more", "nobody"));

        // Still subscribed throughout.
        Assert.Equal("1", publisher.Ask("PUBLISH", channel, "after"));
        Assert.Equal(Push("message", channel, "after"), sub.Read());
        Assert.Equal(Push("unsubscribe", channel, ":0"), sub.Call("UNSUBSCRIBE"));
        Assert.Equal(RespText.Bulk("theirs"), sub.Call("GET", here));
    }

    /// <summary>
    /// While subscribed, a write on the shared path (MSET over two servers, one of them the subscribed one) and a read
    /// on the subscribed connection right after it, pipelined: the read runs after the write, in every round.
    /// </summary>
    [Fact]
    public void Subscribed_Resp3Client_ReadsItsOwnWrites_AcrossTheSharedAndDedicatedConnections()
    {
        string here = KeyOn(0, "resp3:ryw"), there = KeyOn(0, "resp3:ryw", onServer: false);
        using var sub = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        Assert.Equal(Push("subscribe", $"ryw:{here}", ":1"), sub.Call("SUBSCRIBE", $"ryw:{here}"));
        for (int round = 0; round < 50; round++)
        {
            var replies = Pipelined(sub, ["MSET", here, $"v{round}", there, $"w{round}"], ["GET", here], ["INCR", here + ":n"], ["GET", there]);
            Assert.Equal(["+OK\r\n", RespText.Bulk($"v{round}"), $":{round + 1}\r\n", RespText.Bulk($"w{round}")], replies);
        }
        Assert.Equal(Push("unsubscribe", $"ryw:{here}", ":0"), sub.Call("UNSUBSCRIBE"));
    }

    private static string[] Pipelined(Resp3Client client, params string[][] commands)
    {
        client.SendRaw(commands.SelectMany(c => RespTestClient.Command(c)).ToArray());
        return commands.Select(_ => client.Read()).ToArray();
    }

    [Fact]
    public void Resp2AndResp3Subscribers_OfOneChannel_EachGetTheirOwnProtocol()
    {
        string channel = $"both:{Guid.NewGuid():N}";
        using var resp3 = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        using var resp2 = Resp3Client.Connect(fixture.Rampart.Port);
        using var publisher = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        for (int round = 0; round < 3; round++)
        {
            // Each round takes the idle dedicated connections the last one gave back: each must keep its protocol.
            Assert.Equal(Push("subscribe", channel, ":1"), resp3.Call("SUBSCRIBE", channel));
            Assert.Equal($"*3\r\n{RespText.Bulk("subscribe")}{RespText.Bulk(channel)}:1\r\n", resp2.Call("SUBSCRIBE", channel));
            Assert.Equal("2", publisher.Ask("PUBLISH", channel, $"r{round}"));
            Assert.Equal(Push("message", channel, $"r{round}"), resp3.Read());
            Assert.Equal($"*3\r\n{RespText.Bulk("message")}{RespText.Bulk(channel)}{RespText.Bulk($"r{round}")}", resp2.Read());
            Assert.StartsWith("-ERR Can't execute 'get'", resp2.Call("GET", "x"));
            Assert.Equal("_\r\n", resp3.Call("GET", $"none:{channel}"));
            Assert.Equal(Push("unsubscribe", channel, ":0"), resp3.Call("UNSUBSCRIBE"));
            Assert.Equal($"*3\r\n{RespText.Bulk("unsubscribe")}{RespText.Bulk(channel)}:0\r\n", resp2.Call("UNSUBSCRIBE"));
            Assert.Equal("$-1\r\n", resp2.Call("GET", $"none:{channel}"));
            Assert.Equal("_\r\n", resp3.Call("GET", $"none:{channel}"));
        }
    }

    [Fact]
    public async Task LostDedicatedConnection_Resp3SubscriberIsResubscribed_WithoutSeeingConfirmationsTwice()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        string channel = $"again:{Guid.NewGuid():N}", pattern = $"again:{Guid.NewGuid():N}:*";
        using var sub = Resp3Client.ConnectResp3(rampart.Port);
        Assert.Equal(Push("subscribe", channel, ":1"), sub.Call("SUBSCRIBE", channel));
        Assert.Equal(Push("psubscribe", pattern, ":2"), sub.Call("PSUBSCRIBE", pattern));

        // The server drops the dedicated connection (as at a failover or restart).
        Assert.Equal(":1", redis.Send("CLIENT KILL TYPE pubsub\r\n").Trim());
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        await WaitUntilAsync(() => pinned.Resubscribes >= 1, TimeSpan.FromSeconds(10));
        using var publisher = RespTestClient.ConnectTcp(rampart.Port);
        await WaitUntilAsync(() => publisher.Ask("PUBLISH", channel, "probe") == "1", TimeSpan.FromSeconds(10));
        Assert.Equal("1", publisher.Ask("PUBLISH", pattern[..^1] + "x", "after"));

        string frame;
        do frame = sub.Read();
        while (frame == Push("message", channel, "probe"));
        Assert.Equal(Push("pmessage", pattern, pattern[..^1] + "x", "after"), frame);
        Assert.Equal("+PONG\r\n", sub.Call("PING"));
        Assert.Equal(Push("unsubscribe", channel, ":1"), sub.Call("UNSUBSCRIBE"));
    }
}
