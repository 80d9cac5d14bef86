using Rampart.Protocol.Commands;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>
/// Outside cluster pools, what a cluster pool answers itself keeps its old handling: cluster introspection goes to the
/// server (which answers as itself, here a server without cluster support), READONLY/READWRITE are refused, HELLO
/// says standalone.
/// </summary>
public sealed class ClusterCommandsInPlainPoolTests(ProxiedRedisFixture fixture) : IClassFixture<ProxiedRedisFixture>
{
    [Theory]
    [InlineData("CLUSTER|SLOTS")]
    [InlineData("CLUSTER|SHARDS")]
    [InlineData("CLUSTER|NODES")]
    [InlineData("CLUSTER|INFO")]
    [InlineData("CLUSTER|MYID")]
    [InlineData("CLUSTER|KEYSLOT|foo")]
    public void ClusterIntrospection_IsTheServersOwnAnswer(string command)
    {
        string[] args = command.Split('|');
        using var viaRampart = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        using var direct = RespTestClient.ConnectTcp(fixture.Redis.Port);
        Assert.Equal(direct.CallText(args), viaRampart.CallText(args));
    }

    [Theory]
    [InlineData("READONLY", "readonly")]
    [InlineData("READWRITE", "readwrite")]
    public void ReadOnlyAndReadWrite_AreStillRefused(string command, string name)
    {
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        var refusal = CommandTable.All.Single(c => c.Name == name).RefusalMessage!;
        Assert.Equal(new RespError(refusal), client.Call(command));
    }

    [Fact]
    public void Hello_SaysStandalone()
    {
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        var hello = (object?[])client.CallText("HELLO", "2")!;
        Assert.Equal("standalone", hello[Array.IndexOf(hello, "mode") + 1]);
    }
}
