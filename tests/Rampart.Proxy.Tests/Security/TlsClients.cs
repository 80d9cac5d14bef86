using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Security;

/// <summary>The TLS clients the TLS tests use: redis-cli --tls, and a .NET SslStream that sends one command.</summary>
internal static class TlsClients
{
    /// <summary>redis-cli --tls trusting the test CA, with the client certificate when <paramref name="withCert"/>.</summary>
    public static Task<ProgramResult> RedisCliAsync(TestCertificates pki, int port, bool withCert, params string[] command)
    {
        List<string> args = ["--tls", "--cacert", pki.CaFile, "-h", "127.0.0.1", "-p", port.ToString()];
        if (withCert) args.AddRange(["--cert", pki.ClientCert, "--key", pki.ClientKey]);
        args.AddRange(command);
        return ExternalProgram.RunAsync("redis-cli", args, timeout: TimeSpan.FromSeconds(20));
    }

    /// <summary>An open TLS connection to 127.0.0.1:<paramref name="port"/>, the server checked against the test CA.</summary>
    public static async Task<TlsConnection> ConnectAsync(TestCertificates pki, int port, (string Cert, string Key)? clientCert = null,
        SslProtocols protocols = SslProtocols.None)
    {
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var tls = new SslStream(client.GetStream());
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = protocols,
            CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck },
        };
        options.CertificateChainPolicy.CustomTrustStore.Add(pki.Ca);
        if (clientCert is { } c) options.ClientCertificates = [X509Certificate2.CreateFromPemFile(c.Cert, c.Key)];
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await tls.AuthenticateAsClientAsync(options, limit.Token);
        }
        catch
        {
            tls.Dispose();
            client.Dispose();
            throw;
        }
        return new TlsConnection(client, tls);
    }
}

/// <summary>One TLS connection that sends inline commands and reads one reply chunk each.</summary>
internal sealed class TlsConnection(TcpClient client, SslStream tls) : IDisposable
{
    /// <summary>The certificate the server presented.</summary>
    public X509Certificate2 ServerCertificate => new(tls.RemoteCertificate!);

    public SslProtocols Protocol => tls.SslProtocol;

    /// <summary>Sends <paramref name="inline"/> and returns one read's reply text; throws when the connection ends.</summary>
    public async Task<string> CallAsync(string inline)
    {
        await tls.WriteAsync(Encoding.UTF8.GetBytes(inline + "\r\n"));
        var buffer = new byte[4096];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int read = await tls.ReadAsync(buffer, limit.Token);
        if (read == 0) throw new IOException("connection closed");
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    public void Dispose()
    {
        tls.Dispose();
        client.Dispose();
    }
}
