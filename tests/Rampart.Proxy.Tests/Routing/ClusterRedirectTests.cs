using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Routing;

/// <summary>MOVED and ASK replies: their shapes, and the real ones a Redis Cluster sends (ASK while a slot migrates).</summary>
public class ClusterRedirectTests
{
    [Theory]
    [InlineData("-MOVED 3999 127.0.0.1:6381\r\n", false, 3999, "127.0.0.1", 6381)]
    [InlineData("-ASK 0 10.0.0.2:7000\r\n", true, 0, "10.0.0.2", 7000)]
    [InlineData("-MOVED 16383 ::1:7001\r\n", false, 16383, "::1", 7001)]
    [InlineData("-MOVED 12 :7002\r\n", false, 12, "", 7002)]
    public void Redirections_AreRead(string reply, bool ask, int slot, string host, int port)
    {
        Assert.True(ClusterRedirect.TryParse(Encoding.ASCII.GetBytes(reply), out var redirect));
        Assert.Equal(new ClusterRedirect(ask, slot, host, port), redirect);
    }

    [Theory]
    [InlineData("-ERR MOVED 1 h:1\r\n")]
    [InlineData("-MOVED 16384 h:1\r\n")]
    [InlineData("-MOVED x h:1\r\n")]
    [InlineData("-MOVED 1 h\r\n")]
    [InlineData("-MOVED 1 h:0\r\n")]
    [InlineData("-MOVED 1 h:1")]
    [InlineData("+OK\r\n")]
    [InlineData("-CLUSTERDOWN Hash slot not served\r\n")]
    public void OtherReplies_AreNotRedirections(string reply) =>
        Assert.False(ClusterRedirect.TryParse(Encoding.ASCII.GetBytes(reply), out _));

    [Fact]
    public void ARealCluster_SendsMovedForAnotherNodesSlot_AndAskWhileTheSlotMigrates()
    {
        using var cluster = RedisClusterProcess.Start();
        const string key = "migrating-key";
        int slot = ClusterSlot.Of(Encoding.UTF8.GetBytes(key));
        var owner = cluster.Nodes.Single(n => !n.Send(RespText.Command("GET", key)).StartsWith("-MOVED"));
        var target = cluster.Nodes.First(n => n != owner);

        Assert.True(ClusterRedirect.TryParse(Encoding.ASCII.GetBytes(target.Send(RespText.Command("GET", key))), out var moved));
        Assert.Equal(new ClusterRedirect(false, slot, "127.0.0.1", owner.Port), moved);

        string NodeId(RedisServerProcess node) => node.Send(RespText.Command("CLUSTER", "MYID")).Split("\r\n")[1];
        Assert.StartsWith("+OK", target.Send(RespText.Command("CLUSTER", "SETSLOT", slot.ToString(), "IMPORTING", NodeId(owner))));
        Assert.StartsWith("+OK", owner.Send(RespText.Command("CLUSTER", "SETSLOT", slot.ToString(), "MIGRATING", NodeId(target))));
        // The key is not on the owner any more (it never was): the owner sends the client to the target, once.
        Assert.True(ClusterRedirect.TryParse(Encoding.ASCII.GetBytes(owner.Send(RespText.Command("GET", key))), out var ask));
        Assert.Equal(new ClusterRedirect(true, slot, "127.0.0.1", target.Port), ask);
    }
}
