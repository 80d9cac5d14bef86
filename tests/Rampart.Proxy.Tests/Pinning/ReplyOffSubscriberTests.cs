using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// CLIENT REPLY OFF / SKIP before SUBSCRIBE: Redis (7.0) still sends the subscribe confirmation and every message, in
/// RESP2 and RESP3 alike, while it drops replies to commands (PING). Each script runs directly against redis-server and
/// through Rampart, and the two byte streams must be the same, frame by frame.
/// </summary>
public sealed class ReplyOffSubscriberTests
{
    [Theory]
    [InlineData(false, "OFF")]
    [InlineData(false, "SKIP")]
    [InlineData(true, "OFF")]
    [InlineData(true, "SKIP")]
    public async Task SubscriberWithRepliesOffOrSkipped_GetsConfirmationsAndMessages_AsFromRedis(bool resp3, string mode)
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        var direct = Script(redis.Port, resp3, mode);
        var proxied = Script(rampart.Port, resp3, mode);

        // What Redis 7.0 does, checked here so that this test states it: the confirmation and the message arrive.
        string push = resp3 ? ">3" : "*3";
        Assert.Equal($"{push}\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", direct[0]);
        Assert.Equal($"{push}\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nm1\r\n", direct[1]);
        Assert.Equal(direct, proxied);
    }

    /// <summary>
    /// The frames one subscriber receives: SUBSCRIBE after CLIENT REPLY mode, a message, a PING (dropped under OFF,
    /// answered after a SKIP that SUBSCRIBE used up), then replies back on (RESP3: CLIENT REPLY ON while subscribed;
    /// RESP2, where Redis refuses it while subscribed: after UNSUBSCRIBE) and a message and a PING that now arrive.
    /// </summary>
    private static string[] Script(int port, bool resp3, string mode)
    {
        using var sub = resp3 ? Resp3Client.ConnectResp3(port) : Resp3Client.Connect(port);
        using var publisher = RespTestClient.ConnectTcp(port);
        var frames = new List<string>();
        sub.Send("CLIENT", "REPLY", mode);
        sub.Send("SUBSCRIBE", "ch");
        frames.Add(sub.Read());
        Assert.Equal("1", Replies.Ask(publisher, "PUBLISH", "ch", "m1"));
        frames.Add(sub.Read());
        sub.Send("PING");
        if (resp3) sub.Send("CLIENT", "REPLY", "ON");
        else
        {
            sub.Send("CLIENT", "REPLY", "ON"); // refused while subscribed (and, under OFF, not even answered)
            sub.Send("UNSUBSCRIBE", "ch");
            sub.Send("CLIENT", "REPLY", "ON");
        }
        sub.Send("PING", "last");
        // Everything up to the last PING's reply, whatever it is: the frames must match Redis's one for one.
        for (int i = 0; i < 6; i++)
        {
            string frame = sub.Read();
            frames.Add(frame);
            if (frame.Contains("last", StringComparison.Ordinal)) break;
        }
        if (resp3)
        {
            Assert.Equal("1", Replies.Ask(publisher, "PUBLISH", "ch", "m2"));
            frames.Add(sub.Read());
        }
        Assert.True(sub.IsQuietFor(100));
        return [.. frames];
    }
}
