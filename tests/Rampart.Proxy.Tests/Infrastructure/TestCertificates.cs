using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A throw-away PKI made by the test itself in a temp directory (never committed): a CA, a server certificate for
/// 127.0.0.1 and localhost, and a client certificate, as PEM files (ECDSA P-256 keys, PKCS#8), deleted on dispose.
/// <see cref="IssueServer"/> makes another server certificate (a renewal, for reload tests).
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly X509Certificate2 _ca;

    public string Directory { get; }
    public string CaFile { get; }
    public string ServerCert { get; }
    public string ServerKey { get; }
    public string ClientCert { get; }
    public string ClientKey { get; }

    /// <summary>The CA's certificate (for a .NET client's validation callback).</summary>
    public X509Certificate2 Ca => _ca;

    public TestCertificates()
    {
        Directory = Path.Combine(Path.GetTempPath(), "rampart-tls-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(Directory);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Rampart Test CA", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CaFile = Write("ca.crt", _ca.ExportCertificatePem());
        (ServerCert, ServerKey) = IssueServer("server");
        (ClientCert, ClientKey) = Issue("client", "CN=rampart-test-client", server: false);
    }

    /// <summary>A new server certificate (serial and key of its own) as name.crt and name.key.</summary>
    public (string Cert, string Key) IssueServer(string name) => Issue(name, "CN=localhost", server: true);

    private (string Cert, string Key) Issue(string name, string subject, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }
        var serial = new byte[12];
        RandomNumberGenerator.Fill(serial);
        using var certificate = request.Create(_ca, DateTimeOffset.UtcNow.AddDays(-1), _ca.NotAfter.AddDays(-1), serial);
        return (Write(name + ".crt", certificate.ExportCertificatePem()), Write(name + ".key", key.ExportPkcs8PrivateKeyPem()));
    }

    /// <summary>A certificate issued by no CA the tests trust (for refusals).</summary>
    public (string Cert, string Key) SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=stranger", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return (Write(name + ".crt", certificate.ExportCertificatePem()), Write(name + ".key", key.ExportPkcs8PrivateKeyPem()));
    }

    private string Write(string name, string pem)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, pem);
        return path;
    }

    /// <summary>The serial number of the certificate in <paramref name="certFile"/>, to compare with one a peer presented.</summary>
    public static string SerialOf(string certFile) => X509Certificate2.CreateFromPem(File.ReadAllText(certFile)).SerialNumber;

    public void Dispose()
    {
        _ca.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
