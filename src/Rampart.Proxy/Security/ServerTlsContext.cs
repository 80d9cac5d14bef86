using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Security;

/// <summary>
/// The client side of TLS to Redis servers and Sentinels (<c>server_tls:</c>): the CA their certificates must chain to
/// (the system's without ca_file), Rampart's own client certificate if any, and the name checked (server_name, or each
/// server's host), read again when the files change. One context per distinct block, shared by every connection made
/// with it (server links, dedicated connections, ROLE checks, Sentinel queries).
/// </summary>
/// <remarks>Use <see cref="For"/>; the constructor is for it only.</remarks>
internal sealed class ServerTlsContext(ServerTlsConfig config)
    : TlsFileWatch<ServerTlsContext.Material>(TimeProvider.System, config.CertFile, config.KeyFile, config.CaFile)
{
    private static readonly ConcurrentDictionary<ServerTlsConfig, ServerTlsContext> Contexts = new();
    // A captured parameter is stored before the base constructor runs, so Build (called by it) can read it.
    private readonly ServerTlsConfig _config = config;

    internal sealed record Material(SslStreamCertificateContext? ClientCertificate, X509ChainPolicy? Trust);

    /// <summary>The context of <paramref name="config"/>, or null for plain connections.</summary>
    public static ServerTlsContext? For(ServerTlsConfig? config) => config is null ? null : Contexts.GetOrAdd(config, c => new ServerTlsContext(c));

    /// <summary>Options for one connection to <paramref name="host"/> (as the config names it).</summary>
    public SslClientAuthenticationOptions OptionsFor(string host)
    {
        var material = Current;
        return new SslClientAuthenticationOptions
        {
            TargetHost = _config.ServerName ?? host,
            ClientCertificateContext = material.ClientCertificate,
            CertificateChainPolicy = material.Trust,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
    }

    protected override Material Build()
    {
        SslStreamCertificateContext? client = null;
        if (_config is { CertFile: { } cert, KeyFile: { } key })
        {
            var (certificate, intermediates) = TlsFiles.LoadCertificate(cert, key);
            client = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        }
        return new Material(client, _config.CaFile is { } ca ? TlsTrust.Only(TlsFiles.LoadCa(ca)) : null);
    }
}
