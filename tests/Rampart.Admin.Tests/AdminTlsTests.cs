using System.Net;
using System.Net.Sockets;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Admin.Tests;

/// <summary>
/// A failed TLS handshake on a pool's TLS listener is something an operator must see: a client that speaks plain RESP
/// to the TLS port, or one with an untrusted certificate, is counted in /metrics and on the dashboard.
/// </summary>
public sealed class AdminTlsTests : IDisposable
{
    private readonly TestCertificates _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task AFailedTlsHandshake_IsCountedInMetrics_AndShownOnTheDashboard()
    {
        using var redis = RedisServerProcess.Start();
        var pool = RampartUnderTest.Pool(redis) with
        {
            Tls = new ListenerTlsConfig
            {
                Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
                CertFile = _pki.ServerCert,
                KeyFile = _pki.ServerKey,
            },
        };
        await using var admin = await AdminHarness.StartAsync(pool);
        Assert.Equal(0, PrometheusText.Sum(await admin.GetTextAsync("/metrics"), "rampart_clients_tls_refused_total", ("pool", "test")));
        Assert.DoesNotContain("data-field=\"tls-refused\"", await admin.GetTextAsync("/"));

        // A plain client on the TLS port: its PING is not a ClientHello, so the handshake fails and the connection closes.
        int tlsPort = ((IPEndPoint)admin.Rampart.Server.GetTlsListenEndPoint("test")).Port;
        using (var plain = new TcpClient())
        {
            await plain.ConnectAsync(IPAddress.Loopback, tlsPort);
            var stream = plain.GetStream();
            await stream.WriteAsync("*1\r\n$4\r\nPING\r\n"u8.ToArray());
            plain.ReceiveTimeout = 10_000;
            var buffer = new byte[64];
            try { while (stream.Read(buffer) > 0) { } } catch (IOException) { } // closed by Rampart (reset or end)
        }
        // Counted right after the close; give the scrape a moment in case the close raced the count.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        double refused;
        while ((refused = PrometheusText.Sum(await admin.GetTextAsync("/metrics"), "rampart_clients_tls_refused_total", ("pool", "test"))) == 0
               && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(1, refused);
        Assert.Contains("<span data-field=\"tls-refused\">1</span> TLS handshakes failed", await admin.GetTextAsync("/"));

        // The plain listener is not affected.
        using var client = RespTestClient.ConnectTcp(admin.Rampart.Port);
        Assert.Equal("PONG", client.CallText("PING"));
    }
}
