using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Protocol;

/// <summary>One redis-server (free port, killed by PID) shared by a test class, with a direct client.</summary>
public sealed class RedisServerFixture : IDisposable
{
    public RedisServerFixture()
    {
        Server = RedisServerProcess.Start();
        Client = RespTestClient.ConnectTcp(Server.Port);
    }

    public RedisServerProcess Server { get; }
    public RespTestClient Client { get; }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}
