using System.Net;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Security;

/// <summary>
/// <c>sentinel: {tls: true}</c> with a real redis-sentinel on a TLS port (its plain port is only for the fixture's
/// readiness check; Rampart is given the TLS one) that monitors a TLS-only master (<c>tls-replication yes</c>):
/// Rampart asks the Sentinel over TLS, checks ROLE and serves over server_tls.
/// </summary>
public sealed class TlsSentinelTests : IDisposable
{
    private readonly TestCertificates _pki = new();
    private readonly TlsRedisServer _master;
    private readonly SentinelProcess _sentinel;
    private readonly int _sentinelTlsPort = FreePort.Next();

    public TlsSentinelTests()
    {
        _master = TlsRedisServer.Start(_pki, authClients: "no");
        int plain = FreePort.Next();
        var config = Path.Combine(_pki.Directory, "sentinel.conf");
        File.WriteAllText(config, $"""
            port {plain}
            bind 127.0.0.1
            tls-port {_sentinelTlsPort}
            tls-cert-file {_pki.ServerCert}
            tls-key-file {_pki.ServerKey}
            tls-ca-cert-file {_pki.CaFile}
            tls-auth-clients no
            tls-replication yes
            sentinel monitor mymaster 127.0.0.1 {_master.Port} 1
            sentinel down-after-milliseconds mymaster 5000

            """);
        _sentinel = SentinelProcess.Start(plain, config);
    }

    public void Dispose()
    {
        _sentinel.Dispose();
        _master.Dispose();
        _pki.Dispose();
    }

    [Fact]
    public async Task SentinelTls_MasterFoundOverTls_ClientsServedThroughTheTlsListener()
    {
        var pool = new PoolConfig
        {
            Name = "test",
            Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
            Servers = [new ServerConfig { Host = "mymaster", Name = "mymaster", Port = 0, Weight = 1 }],
            Sentinel = new SentinelConfig
            {
                Addresses = [new SentinelAddress { Host = "127.0.0.1", Port = _sentinelTlsPort }],
                Quorum = 1,
                CheckIntervalMs = 200,
                Tls = true,
            },
            ServerTls = new ServerTlsConfig { CaFile = _pki.CaFile },
            Tls = new ListenerTlsConfig
            {
                Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
                CertFile = _pki.ServerCert,
                KeyFile = _pki.ServerKey,
            },
        };
        var log = new CapturedLog();
        await using var rampart = await RampartUnderTest.StartAsync(pool, log);
        int port = ((IPEndPoint)rampart.Server.GetTlsListenEndPoint("test")).Port;
        string? reply = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (reply != "+OK\r\n" && DateTime.UtcNow < deadline)
        {
            using var client = await TlsClients.ConnectAsync(_pki, port);
            reply = await client.CallAsync("SET tls:sentinel found");
            if (reply != "+OK\r\n") await Task.Delay(200); // until the master is confirmed
        }
        Assert.True(reply == "+OK\r\n", reply + "\n" + string.Join("\n", log.Lines.TakeLast(10)));
        var direct = await TlsClients.RedisCliAsync(_pki, _master.Port, withCert: false, "GET", "tls:sentinel");
        Assert.Equal("found", direct.Stdout.Trim());
    }
}
