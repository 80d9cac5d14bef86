using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// For <see cref="UnusualReplyTests"/>: a reference redis-server, and a one-server Rampart pool on one event loop (so
/// the canary and the client under test share one server connection) in front of another; both servers with
/// <c>--enable-debug-command yes</c>.
/// </summary>
public sealed class UnusualReplyFixture : IAsyncLifetime
{
    public RedisServerProcess Direct { get; private set; } = null!;
    public RedisServerProcess Server { get; private set; } = null!;
    public RampartUnderTest Rampart { get; private set; } = null!;

    public static readonly string[] DebugEnabled = ["--enable-debug-command", "yes"];

    public async Task InitializeAsync()
    {
        Direct = RedisServerProcess.Start(DebugEnabled);
        Server = RedisServerProcess.Start(DebugEnabled);
        Rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(Server), eventLoops: 1);
    }

    /// <summary>Runs a command on both servers directly (setup that must not go through Rampart).</summary>
    public void OnBoth(params string[] command)
    {
        foreach (var server in new[] { Direct, Server })
        {
            using var client = RespTestClient.ConnectTcp(server.Port);
            client.ReadTimeoutMs = 60_000;
            if (client.Call(command) is RespError e) throw new InvalidOperationException($"{string.Join(' ', command)} on :{server.Port}: {e.Message}");
        }
    }

    public async Task DisposeAsync()
    {
        if (Rampart is not null) await Rampart.DisposeAsync();
        (Server as IDisposable)?.Dispose();
        (Direct as IDisposable)?.Dispose();
    }
}
