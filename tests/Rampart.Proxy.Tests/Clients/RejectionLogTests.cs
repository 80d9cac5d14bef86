using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>The rejected-connection log's rate limit on a fake clock: at most one line a second per pool.</summary>
public sealed class RejectionLogTests
{
    [Fact]
    public void RejectionLog_WritesAtMostOneLineASecond_AndCountsTheRest()
    {
        var clock = new FakeTimeProvider();
        var log = new CapturedLog();
        var rejections = new RejectionLog(log.CreateLogger("test"), clock);
        for (int i = 0; i < 100; i++) rejections.Rejected("alpha", $"10.0.0.{i}:5000", "address not in the pool's allow list");
        Assert.Single(log.Lines);

        clock.Advance(TimeSpan.FromMilliseconds(999));
        rejections.Rejected("alpha", "10.0.0.100:5000", "address not in the pool's allow list");
        Assert.Single(log.Lines); // not a second yet

        clock.Advance(TimeSpan.FromMilliseconds(1));
        rejections.Rejected("alpha", "10.0.0.200:5000", "address not in the pool's allow list");
        Assert.Equal(2, log.Lines.Count);
        Assert.Contains("(100 more rejected without a line since the last one)", log.Lines[1]);
    }
}
