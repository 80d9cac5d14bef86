using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Reload;

/// <summary>A reload of a Sentinel pool restarts its monitor over the servers that stay, which keep their confirmed master.</summary>
public sealed class SentinelReloadTests
{
    private static string Pool(SentinelTopology topology, int port, int checkInterval, int quorum) =>
        $"ha:\n  listen: 127.0.0.1:{port}\n  redis: true\n  timeout: 2000\n  sentinel:\n"
        + $"    addresses: [{string.Join(", ", topology.SentinelPorts.Select(p => $"127.0.0.1:{p}"))}]\n"
        + $"    quorum: {quorum}\n    check_interval: {checkInterval}\n  servers:\n    - {topology.MasterName}\n";

    [Fact]
    public async Task SentinelBlockChange_ClientsSeeNoError_MasterStaysConfirmed()
    {
        await using var topology = await SentinelTopology.StartAsync();
        int port = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(Pool(topology, port, 250, 2));
        var pool = Assert.Single(rampart.Server.Pools);
        var master = pool.Routing.Servers[0];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (master.Address is null && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.NotNull(master.Address);

        var loop = new SetGetClientLoop(port, 10);
        loop.Start();
        try
        {
            await loop.WaitForProgressAsync(20);
            var outcome = rampart.Reload(Pool(topology, port, 400, 3));
            Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
            Assert.Equal("pool 'ha': sentinel block changed", outcome.Changes);
            await loop.WaitForProgressAsync(50);
        }
        finally
        {
            await loop.StopAsync();
        }
        Assert.Empty(loop.Failures);
        Assert.Equal(0, loop.Misses);
        Assert.Same(master, pool.Routing.Servers[0]);
        Assert.Equal(topology.CurrentMasterPort(), ((System.Net.IPEndPoint)master.Address!).Port);
        loop.Dispose();
    }
}
