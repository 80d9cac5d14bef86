using System.Security.Authentication;

namespace Rampart.Proxy.Configuration;

/// <summary>Whether a TLS listener asks its clients for a certificate (<c>client_auth:</c>).</summary>
public enum ClientAuthMode
{
    /// <summary>No client certificate is asked for.</summary>
    None,
    /// <summary>A client may present a certificate; one it presents must chain to <c>ca_file</c>.</summary>
    Optional,
    /// <summary>Mutual TLS: a client without a certificate that chains to <c>ca_file</c> is refused at the handshake.</summary>
    Required,
}

/// <summary>
/// A pool's <c>tls:</c> block: a TLS listener on its own address, beside the pool's plain <c>listen:</c>, serving the
/// same pool. File paths are absolute (a relative one in the file is taken from the config file's directory).
/// </summary>
public sealed record ListenerTlsConfig
{
    public required ListenAddress Listen { get; init; }
    /// <summary>PEM certificate, with any intermediate certificates after it.</summary>
    public required string CertFile { get; init; }
    /// <summary>PEM private key of <see cref="CertFile"/>.</summary>
    public required string KeyFile { get; init; }
    /// <summary>PEM CA certificates that clients' certificates must chain to; needed unless client_auth is none.</summary>
    public string? CaFile { get; init; }
    public ClientAuthMode ClientAuth { get; init; } = ClientAuthMode.None;
    /// <summary>The oldest protocol accepted: TLS 1.2 by default, or 1.3.</summary>
    public SslProtocols Protocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;
    /// <summary>Line of the <c>tls:</c> key, for messages.</summary>
    public int Line { get; init; }
}

/// <summary>
/// A pool's <c>server_tls:</c> block: Rampart connects to the pool's Redis servers (and, with <c>sentinel: {tls: true}</c>,
/// its sentinels) with TLS. Without <see cref="CaFile"/> the system's trusted CAs check the servers' certificates.
/// </summary>
public sealed record ServerTlsConfig
{
    public string? CaFile { get; init; }
    /// <summary>Rampart's client certificate (PEM), for servers with <c>tls-auth-clients yes</c>; with <see cref="KeyFile"/>.</summary>
    public string? CertFile { get; init; }
    public string? KeyFile { get; init; }
    /// <summary>The name the servers' certificates must carry (and SNI); null: each server's own host from the config.</summary>
    public string? ServerName { get; init; }
    public int Line { get; init; }
}
