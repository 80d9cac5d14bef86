using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Security;

/// <summary>
/// The server side of a pool's TLS listener: its certificate, the CA that clients' certificates must chain to, whether
/// clients must present one (client_auth) and the oldest protocol accepted, as the options every handshake uses,
/// read again when the files change (<see cref="TlsFileWatch{T}"/>).
/// </summary>
internal sealed class ListenerTlsContext(ListenerTlsConfig config, TimeProvider time)
    : TlsFileWatch<SslServerAuthenticationOptions>(time, config.CertFile, config.KeyFile, config.CaFile)
{
    public ListenerTlsConfig Config => config;

    protected override SslServerAuthenticationOptions Build()
    {
        var (certificate, intermediates) = TlsFiles.LoadCertificate(config.CertFile, config.KeyFile);
        var auth = config.ClientAuth;
        return new SslServerAuthenticationOptions
        {
            // offline: the chain is built once here from the file's intermediates, never fetched during a handshake.
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, intermediates, offline: true),
            EnabledSslProtocols = config.Protocols,
            ClientCertificateRequired = auth != ClientAuthMode.None,
            CertificateChainPolicy = config.CaFile is { } ca ? TlsTrust.Only(TlsFiles.LoadCa(ca)) : null,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = auth switch
            {
                // A certificate is asked for only with optional or required; without either none comes.
                ClientAuthMode.None => static (_, _, _, _) => true,
                ClientAuthMode.Optional => static (_, _, _, errors) => errors is SslPolicyErrors.None or SslPolicyErrors.RemoteCertificateNotAvailable,
                _ => static (_, _, _, errors) => errors == SslPolicyErrors.None,
            },
        };
    }
}

/// <summary>Chain policies for certificates checked against a CA of the config rather than the system's.</summary>
internal static class TlsTrust
{
    /// <summary>Trusts exactly <paramref name="authorities"/> (<c>ca_file</c>); no revocation lookups on the network.</summary>
    public static X509ChainPolicy Only(X509Certificate2Collection authorities)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(authorities);
        return policy;
    }
}
