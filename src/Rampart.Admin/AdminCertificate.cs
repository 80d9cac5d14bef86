using System.Security.Cryptography.X509Certificates;
using Rampart.Proxy.Configuration;

namespace Rampart.Admin;

/// <summary>The admin server's TLS certificate from its PEM files.</summary>
internal static class AdminCertificate
{
    public static X509Certificate2 Load(AdminTlsFiles files)
    {
        using var pem = X509Certificate2.CreateFromPemFile(files.CertFile, files.KeyFile);
        // A PEM key is ephemeral; SslStream on some platforms needs it persisted in a PKCS#12 blob first.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
    }
}
