using System.Net;
using System.Security.Authentication;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Security;

/// <summary>
/// TLS end to end with real parts: certificates made by the test, a TLS-only redis-server, Rampart with a TLS listener
/// beside its plain one and server_tls to that server, and real clients (redis-cli --tls, StackExchange.Redis ssl=true,
/// a .NET SslStream for what the tools cannot say: the certificate presented, the protocol version).
/// </summary>
public sealed class TlsEndToEndTests : IDisposable
{
    private readonly TestCertificates _pki = new();
    private readonly TlsRedisServer _redis;

    public TlsEndToEndTests() => _redis = TlsRedisServer.Start(_pki, authClients: "yes");

    public void Dispose()
    {
        _redis.Dispose();
        _pki.Dispose();
    }

    private PoolConfig Pool(ClientAuthMode auth = ClientAuthMode.None, SslProtocols protocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        string? cert = null, string? key = null) => new()
    {
        Name = "test",
        Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
        Servers = [new ServerConfig { Host = "127.0.0.1", Port = _redis.Port, Weight = 1, Name = "s0" }],
        Tls = new ListenerTlsConfig
        {
            Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
            CertFile = cert ?? _pki.ServerCert,
            KeyFile = key ?? _pki.ServerKey,
            CaFile = _pki.CaFile,
            ClientAuth = auth,
            Protocols = protocols,
        },
        // The server asks for a client certificate (tls-auth-clients yes): Rampart presents the test client's.
        ServerTls = new ServerTlsConfig { CaFile = _pki.CaFile, CertFile = _pki.ClientCert, KeyFile = _pki.ClientKey },
    };

    private static int TlsPort(RampartUnderTest rampart) => ((IPEndPoint)rampart.Server.GetTlsListenEndPoint("test")).Port;

    [Fact]
    public async Task RedisCliTls_ThroughTlsListener_ToTlsOnlyServer_SetsAndGets()
    {
        await using var rampart = await RampartUnderTest.StartAsync(Pool());
        int port = TlsPort(rampart);
        var set = await TlsClients.RedisCliAsync(_pki, port, withCert: false, "SET", "tls:cli", "through-tls");
        Assert.True(set.ExitCode == 0 && set.Stdout.Trim() == "OK", set.ToString());
        var get = await TlsClients.RedisCliAsync(_pki, port, withCert: false, "GET", "tls:cli");
        Assert.Equal("through-tls", get.Stdout.Trim());
        // The value really is on the TLS-only server, written over server_tls.
        var direct = await TlsClients.RedisCliAsync(_pki, _redis.Port, withCert: true, "GET", "tls:cli");
        Assert.Equal("through-tls", direct.Stdout.Trim());
    }

    [Fact]
    public async Task StackExchangeRedis_SslTrue_ThroughTlsListener_Works()
    {
        await using var rampart = await RampartUnderTest.StartAsync(Pool());
        var options = ConfigurationOptions.Parse($"127.0.0.1:{TlsPort(rampart)},ssl=true,sslHost=localhost,abortConnect=false");
        options.CertificateValidation += (_, certificate, chain, errors) =>
        {
            // Trust the test CA only: the chain must end at it.
            if (certificate is null) return false;
            using var check = new System.Security.Cryptography.X509Certificates.X509Chain();
            check.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            check.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
            check.ChainPolicy.CustomTrustStore.Add(_pki.Ca);
            return check.Build(new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate));
        };
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options);
        Assert.True(mux.IsConnected);
        var db = mux.GetDatabase();
        await db.StringSetAsync("tls:se", "hello");
        Assert.Equal("hello", (string?)await db.StringGetAsync("tls:se"));
        var batch = Enumerable.Range(0, 200).Select(i => db.StringIncrementAsync("tls:counter")).ToArray();
        await Task.WhenAll(batch);
        Assert.Equal(200, (long)await db.StringGetAsync("tls:counter"));
        var big = new string('x', 300_000); // several TLS records each way
        await db.StringSetAsync("tls:big", big);
        Assert.Equal(big, (string?)await db.StringGetAsync("tls:big"));
    }

    [Fact]
    public async Task MutualTlsRequired_ClientWithoutCertificateRefused_WithCertificateServed()
    {
        await using var rampart = await RampartUnderTest.StartAsync(Pool(ClientAuthMode.Required));
        int port = TlsPort(rampart);
        var refused = await TlsClients.RedisCliAsync(_pki, port, withCert: false, "PING");
        Assert.DoesNotContain("PONG", refused.Stdout);
        var served = await TlsClients.RedisCliAsync(_pki, port, withCert: true, "PING");
        Assert.True(served.Stdout.Trim() == "PONG", served.ToString());
        // A certificate from a CA the listener does not trust is refused too.
        var stranger = _pki.SelfSigned("stranger");
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var connection = await TlsClients.ConnectAsync(_pki, port, stranger);
            await connection.CallAsync("PING"); // TLS 1.3: the refusal can arrive after the client's side finished
        });
        // Counted when Rampart's side of the handshake gives up, which can come after the client's side has.
        var pool = rampart.Server.GetPool("test");
        Assert.True(await Poll.TryWaitUntilAsync(() => pool.TlsRefused >= 2, TimeSpan.FromSeconds(10)), $"TLS refusals counted: {pool.TlsRefused}");
    }

    [Fact]
    public async Task ClientAuthOptional_NoCertificateServed_UntrustedCertificateRefused()
    {
        await using var rampart = await RampartUnderTest.StartAsync(Pool(ClientAuthMode.Optional));
        int port = TlsPort(rampart);
        using (var anonymous = await TlsClients.ConnectAsync(_pki, port))
            Assert.Equal("+PONG\r\n", await anonymous.CallAsync("PING"));
        using (var trusted = await TlsClients.ConnectAsync(_pki, port, (_pki.ClientCert, _pki.ClientKey)))
            Assert.Equal("+PONG\r\n", await trusted.CallAsync("PING"));
        var stranger = _pki.SelfSigned("stranger");
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var connection = await TlsClients.ConnectAsync(_pki, port, stranger);
            await connection.CallAsync("PING");
        });
    }

    [Fact]
    public async Task MinVersion13_Tls12ClientRefused_Tls13ClientServed()
    {
        await using var rampart = await RampartUnderTest.StartAsync(Pool(protocols: SslProtocols.Tls13));
        int port = TlsPort(rampart);
        await Assert.ThrowsAnyAsync<Exception>(() => TlsClients.ConnectAsync(_pki, port, protocols: SslProtocols.Tls12));
        using var modern = await TlsClients.ConnectAsync(_pki, port, protocols: SslProtocols.Tls13);
        Assert.Equal(SslProtocols.Tls13, modern.Protocol);
        Assert.Equal("+PONG\r\n", await modern.CallAsync("PING"));
    }

    [Fact]
    public async Task PlainAndTlsListeners_ServeTheSamePool()
    {
        await using var rampart = await RampartUnderTest.StartAsync(Pool());
        using var tls = await TlsClients.ConnectAsync(_pki, TlsPort(rampart));
        Assert.Equal("+OK\r\n", await tls.CallAsync("SET tls:both from-tls"));
        var plain = await ExternalProgram.RunAsync("redis-cli", ["-h", "127.0.0.1", "-p", rampart.Port.ToString(), "GET", "tls:both"]);
        Assert.Equal("from-tls", plain.Stdout.Trim());
        // A plain client on the TLS port is refused there, and the plain port still serves.
        var wrong = await ExternalProgram.RunAsync("redis-cli", ["-h", "127.0.0.1", "-p", TlsPort(rampart).ToString(), "PING"],
            timeout: TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("PONG", wrong.Stdout);
        var again = await ExternalProgram.RunAsync("redis-cli", ["-h", "127.0.0.1", "-p", rampart.Port.ToString(), "PING"]);
        Assert.Equal("PONG", again.Stdout.Trim());
        Assert.Equal("$8\r\nfrom-tls\r\n", await tls.CallAsync("GET tls:both"));
    }

    [Fact]
    public async Task ServerTls_ServerCertificateFromAnotherCa_ServerUnreachableWithAnError()
    {
        using var otherPki = new TestCertificates();
        var pool = Pool() with { ServerTls = new ServerTlsConfig { CaFile = otherPki.CaFile, CertFile = _pki.ClientCert, KeyFile = _pki.ClientKey } };
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        using var tls = await TlsClients.ConnectAsync(_pki, TlsPort(rampart));
        var reply = await tls.CallAsync("GET tls:nothing");
        Assert.StartsWith("-", reply); // a Redis error: the server's certificate is not trusted, nothing is sent to it
    }

    /// <summary>Writes a new certificate and key over <paramref name="cert"/> and <paramref name="key"/>; returns its serial.</summary>
    private string Renew(string cert, string key)
    {
        var (renewedCert, renewedKey) = _pki.IssueServer(Path.GetFileNameWithoutExtension(cert) + "-renewed");
        File.Copy(renewedKey, key, overwrite: true);
        File.Copy(renewedCert, cert, overwrite: true);
        return TestCertificates.SerialOf(renewedCert);
    }

    [Fact]
    public async Task CertificateReload_OnReload_NewHandshakesGetNewCertificate_OpenConnectionKeepsWorking()
    {
        var (cert, key) = _pki.IssueServer("rotating");
        await using var rampart = await RampartUnderTest.StartAsync(Pool(cert: cert, key: key));
        int port = TlsPort(rampart);
        using var before = await TlsClients.ConnectAsync(_pki, port);
        string oldSerial = before.ServerCertificate.SerialNumber;
        Assert.Equal(TestCertificates.SerialOf(cert), oldSerial);

        string renewed = Renew(cert, key);
        var outcome = rampart.Server.Reload(rampart.Server.Config, "SIGHUP"); // what SIGHUP runs, with the same config
        Assert.True(outcome.Success, string.Join("; ", outcome.Errors));

        using var after = await TlsClients.ConnectAsync(_pki, port);
        Assert.Equal(renewed, after.ServerCertificate.SerialNumber);
        Assert.NotEqual(oldSerial, after.ServerCertificate.SerialNumber);
        Assert.Equal("+PONG\r\n", await before.CallAsync("PING")); // not dropped
        Assert.Equal("+PONG\r\n", await after.CallAsync("PING"));
    }

    [Fact]
    public async Task CertificateReload_FilesChangedWithoutReload_PickedUpByNewHandshakes()
    {
        var (cert, key) = _pki.IssueServer("watched");
        await using var rampart = await RampartUnderTest.StartAsync(Pool(cert: cert, key: key));
        int port = TlsPort(rampart);
        using var before = await TlsClients.ConnectAsync(_pki, port);

        string expected = Renew(cert, key);
        // The files are looked at again at most once a second, at a handshake: within a few seconds a new one sees it.
        string? seen = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (seen != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            using var probe = await TlsClients.ConnectAsync(_pki, port);
            seen = probe.ServerCertificate.SerialNumber;
        }
        Assert.Equal(expected, seen);
        Assert.Equal("+PONG\r\n", await before.CallAsync("PING"));
    }
}
