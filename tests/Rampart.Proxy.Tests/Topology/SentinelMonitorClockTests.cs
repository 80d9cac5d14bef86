using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Topology;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Tests.Topology;

/// <summary>
/// The Sentinel monitor's own loop on a fake clock. With no Sentinel to ask, every check ends "no confirmed master"
/// at once, so what the test sees is only when the checks happen.
/// </summary>
public sealed class SentinelMonitorClockTests
{
    [Fact]
    public async Task WithoutAConfirmedMaster_RechecksEvery500Ms_OnTheInjectedClock()
    {
        var clock = new FakeTimeProvider();
        var pool = new PoolConfig
        {
            Name = "ha",
            Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
            Servers = [],
            Sentinel = new SentinelConfig { Addresses = [], Quorum = 1, CheckIntervalMs = 10_000 },
        };
        using var loops = new EventLoopGroup(1, NullLoggerFactory.Instance);
        using var server = new ServerEndpoint(pool, new ServerConfig { Host = "mymaster", Port = 0, Weight = 1, Name = "mymaster" },
            loops, NullLogger.Instance, clock);
        var monitor = new SentinelMonitor(pool, [server], NullLogger.Instance, new Proxy.Observability.TopologyEventLog(), clock);
        try
        {
            monitor.Start();
            var first = await NextViewAsync(server, previous: null);
            Assert.Null(first.Master);
            Assert.NotNull(server.UnavailableReason); // fail closed meanwhile

            clock.Advance(TimeSpan.FromMilliseconds(499));
            await Task.Delay(50); // a check that ran now would have replaced the view by then
            Assert.Same(first, server.SentinelView);

            clock.Advance(TimeSpan.FromMilliseconds(1));
            var second = await NextViewAsync(server, first);
            Assert.Equal(TimeSpan.FromMilliseconds(500), second.CheckedAt - first.CheckedAt);
        }
        finally
        {
            await monitor.DisposeAsync();
        }
    }

    /// <summary>The view of the next check after <paramref name="previous"/> (a check replaces the view whole).</summary>
    private static async Task<SentinelView> NextViewAsync(ServerEndpoint server, SentinelView? previous)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            if (server.SentinelView is { } view && !ReferenceEquals(view, previous)) return view;
            Assert.True(DateTime.UtcNow < deadline, "no check happened");
            await Task.Delay(5);
        }
    }
}
