using System.Net;
using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>The AUTH throttle's table on a fake clock: waits per address, their growth and cap, and its bound.</summary>
public sealed class AuthThrottleTests
{
    private static readonly AuthThrottleConfig Config = new() { DelayMs = 100, MaxDelayMs = 800 };

    private static SourceAddress Address(string text, int port = 5000) => SourceAddress.Of(new IPEndPoint(IPAddress.Parse(text), port))!.Value;

    [Fact]
    public void WaitDoublesWithEachConsecutiveFailure_UpToMaxDelay()
    {
        Assert.Equal([100L, 200, 400, 800, 800, 800], Enumerable.Range(1, 6).Select(n => AuthThrottle.DelayAfter(n, Config)));
        Assert.Equal(800, AuthThrottle.DelayAfter(62, Config)); // no overflow however many
    }

    [Fact]
    public void AfterAFailure_TheSameAddressWaits_AnotherDoesNot_AndSuccessForgets()
    {
        var clock = new FakeTimeProvider();
        var throttle = new AuthThrottle(clock) { Config = Config };
        var attacker = Address("10.0.0.1");
        var other = Address("10.0.0.2");
        Assert.Equal(0, throttle.WaitBeforeAttempt(attacker, 0));
        Assert.Equal((1, 100L), throttle.Failed(attacker, 0));
        Assert.Equal(100, throttle.WaitBeforeAttempt(attacker, 0));
        Assert.Equal(0, throttle.WaitBeforeAttempt(other, 0));
        Assert.Equal(40, throttle.WaitBeforeAttempt(attacker, 60));

        // Let through at 100, which takes the next slot: a second connection of the same address waits a whole delay.
        Assert.Equal(0, throttle.WaitBeforeAttempt(attacker, 100));
        Assert.Equal(100, throttle.WaitBeforeAttempt(attacker, 100));
        Assert.Equal((2, 200L), throttle.Failed(attacker, 100));
        Assert.Equal(200, throttle.WaitBeforeAttempt(attacker, 100));

        throttle.Succeeded(attacker);
        Assert.Equal(0, throttle.WaitBeforeAttempt(attacker, 100));
        Assert.Equal(0, throttle.Count);
    }

    [Fact]
    public void Ipv6ClientsOfOneSlash64_ShareAnEntry_AndMappedIpv4IsIpv4()
    {
        Assert.Equal(Address("2001:db8:1:2::1"), Address("2001:db8:1:2:ffff::9"));
        Assert.NotEqual(Address("2001:db8:1:2::1"), Address("2001:db8:1:3::1"));
        Assert.Equal(Address("10.1.2.3"), Address("::ffff:10.1.2.3"));
        Assert.Equal("10.1.2.3", Address("::ffff:10.1.2.3").ToString());
        Assert.Equal("2001:db8:1:2::/64", Address("2001:db8:1:2::1").ToString());
        Assert.Null(SourceAddress.Of(new System.Net.Sockets.UnixDomainSocketEndPoint("/tmp/x.sock")));
    }

    [Fact]
    public void FullTable_PutsNewAddressesInOneSharedEntry_AndQuietOnesAreForgotten()
    {
        var clock = new FakeTimeProvider();
        var throttle = new AuthThrottle(clock) { Config = Config };
        for (int i = 0; i < AuthThrottle.MaxAddresses; i++)
            throttle.Failed(new SourceAddress((UInt128)i + 1), 0);
        Assert.Equal(AuthThrottle.MaxAddresses, throttle.Count);

        // Two addresses the table has no room for: the first failure of one throttles the other too.
        var a = Address("192.0.2.1");
        var b = Address("192.0.2.2");
        Assert.Equal(0, throttle.WaitBeforeAttempt(a, 0));
        throttle.Failed(a, 0);
        Assert.Equal(100, throttle.WaitBeforeAttempt(b, 0));
        Assert.Equal(AuthThrottle.MaxAddresses, throttle.Count);

        throttle.Sweep(59_000);
        Assert.Equal(AuthThrottle.MaxAddresses, throttle.Count);
        throttle.Sweep(60_001);
        Assert.Equal(0, throttle.Count);
        Assert.Equal(0, throttle.WaitBeforeAttempt(b, 60_001));
    }

    [Fact]
    public void Off_NeverWaits()
    {
        var throttle = new AuthThrottle(new FakeTimeProvider()) { Config = new AuthThrottleConfig { DelayMs = 0 } };
        var a = Address("10.0.0.1");
        throttle.Failed(a, 0);
        Assert.Equal(0, throttle.WaitBeforeAttempt(a, 0));
        Assert.Equal(0, throttle.Count);
    }
}
