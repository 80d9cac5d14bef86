using Rampart.Proxy.Configuration;

namespace Rampart.Admin;

/// <summary>
/// Where the admin HTTP server listens, optionally the one user allowed in (HTTP basic auth), and optionally its TLS
/// certificate. Without a user the read-only endpoints are open and the state-changing ones are refused.
/// </summary>
public sealed record AdminOptions
{
    /// <summary>host:port (port 0: any free port; see <see cref="AdminServer.Port"/>).</summary>
    public required string Listen { get; init; }
    public string? User { get; init; }
    public string? Password { get; init; }

    /// <summary>PEM certificate and key: HTTPS instead of HTTP.</summary>
    public AdminTlsFiles? Tls { get; init; }

    public bool RequiresAuth => User is not null && Password is not null;

    /// <summary>host:port as the config reads it, plus port 0 (any free port: tests, and --admin-listen HOST:0).</summary>
    internal static bool TryParseListen(string text, out string host, out int port, out string error)
    {
        int colon = text.LastIndexOf(':');
        if (colon > 0 && text.AsSpan(colon + 1).SequenceEqual("0"))
        {
            port = 0;
            return HostPortParser.TryParseHost(text[..colon], out host, out error, text);
        }
        return HostPortParser.TryParse(text, out host, out port, out error);
    }
}

/// <summary>Where the admin options come from: <c>rampart: admin:</c> in the config, or <c>--admin-listen</c>, which wins.</summary>
public static class AdminSettings
{
    /// <returns>The options in force (null: the admin server is off), or the error when the override is unusable.</returns>
    public static (AdminOptions? Options, string? Error) Resolve(ProxyConfig config, string? listenOverride)
    {
        string? listen = listenOverride ?? config.Settings.AdminListen;
        if (listen is null) return (null, null);
        if (listenOverride is not null)
        {
            // The file's own admin listen was checked against the pools when it was loaded; the override is checked here.
            if (!AdminOptions.TryParseListen(listenOverride, out var host, out var port, out var error))
                return (null, $"--admin-listen {error} (expected host:port)");
            var clash = config.Pools.FirstOrDefault(p => !p.Listen.IsUnix && p.Listen.Port == port && port != 0
                && string.Equals(p.Listen.Host, host, StringComparison.OrdinalIgnoreCase));
            if (clash is not null)
                return (null, $"--admin-listen {listenOverride} is also the listen address of pool '{clash.Name}'");
        }
        return (new AdminOptions { Listen = listen, User = config.Settings.AdminUser, Password = config.Settings.AdminPassword,
            Tls = config.Settings.AdminTls }, null);
    }
}
