using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A real redis-server that speaks TLS only (<c>--port 0 --tls-port P</c>) with the certificates of
/// <see cref="TestCertificates"/>, on a free loopback port; killed by PID on dispose.
/// </summary>
public sealed class TlsRedisServer : IDisposable
{
    private readonly RedisProgram _program;

    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port}";

    private TlsRedisServer(RedisProgram program, int port)
    {
        _program = program;
        Port = port;
    }

    /// <param name="authClients">redis's tls-auth-clients: no, yes or optional.</param>
    public static TlsRedisServer Start(TestCertificates pki, string authClients = "no", params string[] extraArgs)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort.Next();
            string[] args = ["--port", "0", "--tls-port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
                "--tls-cert-file", pki.ServerCert, "--tls-key-file", pki.ServerKey, "--tls-ca-cert-file", pki.CaFile,
                "--tls-auth-clients", authClients, .. extraArgs];
            var program = RedisProgram.Start(args);
            if (WaitUntilAnswering(program, port, pki)) return new TlsRedisServer(program, port);
            program.Dispose();
            if (attempt == 2) throw new InvalidOperationException($"TLS redis-server on port {port} never answered PING:\n{string.Join('\n', program.RecentLog)}");
        }
    }

    private static bool WaitUntilAnswering(RedisProgram program, int port, TestCertificates pki)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline && program.IsRunning)
        {
            try
            {
                if (Ping(port, pki).StartsWith("+PONG", StringComparison.Ordinal)) return true;
            }
            catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException) { }
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>PING over TLS with the test client certificate; what one read brings back.</summary>
    private static string Ping(int port, TestCertificates pki)
    {
        using var client = new TcpClient("127.0.0.1", port);
        using var tls = new SslStream(client.GetStream());
        tls.ReadTimeout = 1000;
        var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(pki.ClientCert, pki.ClientKey);
        tls.AuthenticateAsClient(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ClientCertificates = [certificate],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        tls.Write("PING\r\n"u8);
        var buffer = new byte[64];
        int read = tls.Read(buffer);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }

    public void Dispose() => _program.Dispose();
}
