using System.Net;
using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>
/// The limits against abuse end to end, with a real redis-server and raw clients: idle and never-authenticating
/// clients closed (on a fake clock that only the test moves, so no test waits for a timeout in real time), connections
/// per source address (127.0.0.1 and 127.0.0.2 are two addresses of the loopback), the request size bound, and the
/// AUTH throttle. Each limit acts on the one client over it and no other.
/// </summary>
public sealed class AbuseLimitTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(10);
    private static readonly IPAddress Second = IPAddress.Parse("127.0.0.2");

    private readonly FakeTimeProvider _clock = new();

    /// <summary>Moves the fake clock in 100 ms steps, as the real one would pass, so the sweep sees every moment.</summary>
    private void Advance(TimeSpan span)
    {
        for (var left = span; left > TimeSpan.Zero; left -= TimeSpan.FromMilliseconds(100))
            _clock.Advance(left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100));
    }

    private static void AssertPong(RawClient client)
    {
        client.Send(RespText.Command("PING"));
        Assert.Equal("+PONG", client.ReadLine());
    }

    [Fact]
    public async Task IdleClient_IsClosedWithoutAWordAfterClientIdleTimeout_AndAnActiveOneStays()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(
            RampartUnderTest.Pool(redis) with { ClientIdleTimeoutMs = 10_000 }, time: _clock);
        var pool = rampart.Server.GetPool("test");
        using var idle = new RawClient(rampart.Port);
        using var active = new RawClient(rampart.Port);
        AssertPong(idle);
        AssertPong(active);

        Advance(TimeSpan.FromSeconds(6));
        AssertPong(active);
        Assert.True(idle.IsSilentFor(TimeSpan.FromMilliseconds(50)));
        Advance(TimeSpan.FromSeconds(5)); // idle 11 s, active 5 s

        Assert.Equal(("", true), idle.ReadUntilClosed(Soon)); // closed, nothing written: as Redis's timeout
        AssertPong(active);
        Assert.Equal(1, pool.ClientLimitCounts.IdleClosed);
        Assert.Equal(1, pool.CurrentConnections);
    }

    [Fact]
    public async Task SubscriberAndBlockedClient_AreNeverIdle_ButAClientInMultiIs_AsInRedis()
    {
        // On the real clock, with a 1 s timeout: dedicated connections (SUBSCRIBE, BLPOP) are opened in real time.
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { ClientIdleTimeoutMs = 1000 });
        var pool = rampart.Server.GetPool("test");
        using var subscriber = new RawClient(rampart.Port);
        using var blocked = new RawClient(rampart.Port);
        using var inMulti = new RawClient(rampart.Port);
        subscriber.Send(RespText.Command("SUBSCRIBE", "news"));
        Assert.Equal("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n", subscriber.ReadExactly(33));
        inMulti.Send(RespText.Command("MULTI"));
        Assert.Equal("+OK", inMulti.ReadLine());
        blocked.Send(RespText.Command("BLPOP", "queue", "0"));
        await WaitUntilAsync(() => redis.Send(RespText.Command("INFO", "clients")).Contains("blocked_clients:1"), Soon);

        Assert.Equal(("", true), inMulti.ReadUntilClosed(Soon));
        await Task.Delay(1500); // the others, idle as long and longer, through several sweeps

        using var other = new RawClient(rampart.Port);
        other.Send(RespText.Command("PUBLISH", "news", "hello") + RespText.Command("RPUSH", "queue", "job"));
        Assert.Equal(":1", other.ReadLine());
        Assert.Equal(":1", other.ReadLine());
        Assert.Equal("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n", subscriber.ReadExactly(38));
        Assert.Equal("*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n", blocked.ReadExactly(24));
        Assert.Equal(1, pool.ClientLimitCounts.IdleClosed);
        // The blocked client's idle time counts from when its reply came (the sweep saw it waiting), not from BLPOP.
        AssertPong(blocked);
        Assert.Equal(1, pool.ClientLimitCounts.IdleClosed);
    }

    [Fact]
    public async Task AuthTimeout_ClosesHalfRequestsSilentAndUnauthenticatedClients_AndLeavesAnAuthenticatedOne()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "s3cret");
        await using var rampart = await RampartUnderTest.StartAsync(
            RampartUnderTest.Pool(redis) with { RedisAuth = "s3cret", AuthTimeoutMs = 10_000 }, time: _clock);
        var pool = rampart.Server.GetPool("test");
        using var half = new RawClient(rampart.Port);
        using var silent = new RawClient(rampart.Port);
        using var noAuth = new RawClient(rampart.Port);
        using var good = new RawClient(rampart.Port);
        half.Send("*2\r\n$4\r\nAUTH\r\n$6\r\ns3c"); // a slowloris: the request never ends
        noAuth.Send(RespText.Command("PING"));
        Assert.Equal("-NOAUTH Authentication required.", noAuth.ReadLine());
        good.Send(RespText.Command("AUTH", "s3cret"));
        Assert.Equal("+OK", good.ReadLine());
        await WaitUntilAsync(() => pool.CurrentConnections == 4, Soon);

        Advance(TimeSpan.FromSeconds(9));
        Assert.True(half.IsSilentFor(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(4, pool.CurrentConnections);

        Advance(TimeSpan.FromSeconds(2));
        foreach (var client in new[] { half, silent, noAuth })
            Assert.Equal(("", true), client.ReadUntilClosed(Soon));
        good.AssertStillServes();
        Assert.Equal(3, pool.ClientLimitCounts.AuthTimeoutClosed);
        Assert.Equal(0, pool.ClientLimitCounts.IdleClosed);
    }

    [Fact]
    public async Task AuthTimeout_WithoutPassword_ClosesOnlyClientsThatNeverSentAWholeRequest()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(
            RampartUnderTest.Pool(redis) with { AuthTimeoutMs = 5_000 }, time: _clock);
        var pool = rampart.Server.GetPool("test");
        using var half = new RawClient(rampart.Port);
        using var emptyLines = new RawClient(rampart.Port);
        using var normal = new RawClient(rampart.Port);
        half.Send("*1\r\n$4\r\nPI");
        emptyLines.Send("\r\n\r\n"); // no request at all, however many lines
        AssertPong(normal);
        await WaitUntilAsync(() => pool.CurrentConnections == 3, Soon);

        Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(("", true), half.ReadUntilClosed(Soon));
        Assert.Equal(("", true), emptyLines.ReadUntilClosed(Soon));
        Advance(TimeSpan.FromSeconds(60));
        AssertPong(normal); // idle a minute after its request: auth_timeout is only about the start
    }

    [Fact]
    public async Task MaxConnectionsPerIp_RefusesTheExtraConnectionWithRedisError_AndOtherAddressesAreServed()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { MaxConnectionsPerIp = 2 });
        var pool = rampart.Server.GetPool("test");
        var first = new RawClient(rampart.Port);
        using var second = new RawClient(rampart.Port);
        AssertPong(first);
        AssertPong(second);

        using (var third = new RawClient(rampart.Port))
            Assert.Equal(("-ERR max number of clients reached\r\n", true), third.ReadUntilClosed(Soon));

        using var fromSecond = new RawClient(rampart.Port, Second);
        using var fromSecondAgain = new RawClient(rampart.Port, Second);
        fromSecond.AssertStillServes();
        fromSecondAgain.AssertStillServes();

        first.Dispose();
        var loopback = SourceAddress.Of(new IPEndPoint(IPAddress.Loopback, 1))!.Value;
        await WaitUntilAsync(() => pool.ConnectionsFrom(loopback) == 1, Soon);
        using var again = new RawClient(rampart.Port);
        again.AssertStillServes();
        second.AssertStillServes();
        Assert.Equal(1, pool.ClientLimitCounts.PerIpRejected);
        Assert.Equal(1, pool.RejectedConnections);
    }

    [Fact]
    public async Task MaxRequestSize_RefusesTheOversizedRequestWithAnError_AndClosesOnlyThatClient()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { MaxRequestSize = 1024 });
        var pool = rampart.Server.GetPool("test");
        using var bystander = new RawClient(rampart.Port);
        AssertPong(bystander);

        // One bulk over the bound: Redis's own error for a bulk over proto-max-bulk-len, at its header (no body sent).
        using (var bigBulk = new RawClient(rampart.Port))
        {
            bigBulk.Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000\r\n");
            Assert.Equal(("-ERR Protocol error: invalid bulk length\r\n", true), bigBulk.ReadUntilClosed(Soon));
        }
        // Small bulks that add up to more than the bound: refused at the header of the one that goes over.
        using (var manyBulks = new RawClient(rampart.Port))
        {
            var value = new string('v', 400);
            manyBulks.Send(RespText.Command("MSET", "a", value, "b", value, "c", value));
            Assert.Equal(("-ERR Protocol error: request larger than max_request_size\r\n", true), manyBulks.ReadUntilClosed(Soon));
        }
        // Under the bound, and inline: served.
        bystander.Send(RespText.Command("SET", "fits", new string('v', 900)) + "PING\r\n");
        Assert.Equal("+OK", bystander.ReadLine());
        Assert.Equal("+PONG", bystander.ReadLine());
        Assert.Equal(2, pool.ClientLimitCounts.RequestTooLarge);
    }

    [Fact]
    public async Task Reload_AppliesNewLimitsToClientsAlreadyConnected()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis), time: _clock);
        var pool = rampart.Server.GetPool("test");
        using var idle = new RawClient(rampart.Port);
        using var sender = new RawClient(rampart.Port);
        AssertPong(idle);
        AssertPong(sender);

        var config = rampart.Server.Config;
        var limited = pool.Config with { ClientIdleTimeoutMs = 10_000, MaxRequestSize = 100 };
        var outcome = rampart.Server.Reload(config with { Pools = [limited] });
        Assert.True(outcome.Success);

        // max_request_size from the client's next read, client_idle_timeout from its last read before the reload.
        sender.Send(RespText.Command("SET", "k", new string('v', 200)));
        Assert.Equal(("-ERR Protocol error: invalid bulk length\r\n", true), sender.ReadUntilClosed(Soon));
        Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(("", true), idle.ReadUntilClosed(Soon));
        Assert.Equal(1, pool.ClientLimitCounts.IdleClosed);
        Assert.Equal(1, pool.ClientLimitCounts.RequestTooLarge);
    }

    [Fact]
    public async Task AuthThrottle_DelaysAWrongPasswordLoop_NotACorrectAuthFromAnotherAddress_AndSuccessResets()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "s3cret");
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { RedisAuth = "s3cret" },
            time: _clock, authThrottle: new AuthThrottleConfig { DelayMs = 100, MaxDelayMs = 5000 });
        var pool = rampart.Server.GetPool("test");
        const string WrongPass = "-WRONGPASS invalid username-password pair or user is disabled.";
        using var attacker = new RawClient(rampart.Port);
        attacker.Send(RespText.Command("AUTH", "guess1"));
        Assert.Equal(WrongPass, attacker.ReadLine()); // an address with no failure is not delayed

        // Pipelined guesses: each waits its turn, checked only once the wait is over.
        attacker.Send(RespText.Command("AUTH", "guess2") + RespText.Command("AUTH", "guess3"));
        await WaitUntilAsync(() => pool.ClientLimitCounts.AuthDelayed == 1, Soon);
        Assert.True(attacker.IsSilentFor(TimeSpan.FromMilliseconds(200)));

        // Meanwhile, with the clock standing still: a correct AUTH from another address is answered at once.
        using var other = new RawClient(rampart.Port, Second);
        other.Send(RespText.Command("AUTH", "s3cret"));
        Assert.Equal("+OK", other.ReadLine());
        other.AssertStillServes();

        _clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(WrongPass, attacker.ReadLine()); // guess2, at 100 ms; guess3 now waits 200 ms
        await WaitUntilAsync(() => pool.ClientLimitCounts.AuthDelayed == 2, Soon);
        Assert.True(attacker.IsSilentFor(TimeSpan.FromMilliseconds(200)));
        _clock.Advance(TimeSpan.FromMilliseconds(199));
        Assert.True(attacker.IsSilentFor(TimeSpan.FromMilliseconds(200)));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(WrongPass, attacker.ReadLine());

        // The right password from the throttled address waits its turn too (400 ms now), then clears the address.
        using var owner = new RawClient(rampart.Port);
        owner.Send(RespText.Command("AUTH", "s3cret"));
        await WaitUntilAsync(() => pool.ClientLimitCounts.AuthDelayed == 3, Soon);
        _clock.Advance(TimeSpan.FromMilliseconds(400));
        Assert.Equal("+OK", owner.ReadLine());
        attacker.Send(RespText.Command("AUTH", "guess4"));
        Assert.Equal(WrongPass, attacker.ReadLine());
        Assert.Equal(4, pool.ClientLimitCounts.AuthFailed);
    }
}
