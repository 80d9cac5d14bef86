namespace Rampart.Proxy.Configuration;

/// <summary>A whole validated configuration file: the pools, in file order, and Rampart's own process settings.</summary>
public sealed record ProxyConfig
{
    /// <summary>The file it was read from (for messages), or a description such as "(test)".</summary>
    public required string Source { get; init; }
    public required IReadOnlyList<PoolConfig> Pools { get; init; }
    public RampartSettings Settings { get; init; } = new();
    /// <summary>Where each secret came from (never its value): for <c>rampart check</c>'s file-permission warnings.</summary>
    public IReadOnlyList<SecretSource> Secrets { get; init; } = [];
}

/// <summary>Where a secret's value was read.</summary>
public enum SecretOrigin
{
    /// <summary>Written in the configuration file itself.</summary>
    ConfigFile,
    /// <summary>A <c>${VAR}</c> in the configuration file: the value is in the environment.</summary>
    Environment,
    /// <summary>A file of its own (<c>redis_auth_file</c>, <c>password_file</c>, <c>acl_file</c>, the admin TLS key).</summary>
    File,
}

/// <summary>A secret setting and where its value was read (never the value).</summary>
/// <param name="Setting">What it is, for messages: "pool 'cache' redis_auth_file".</param>
/// <param name="Line">The line of the key in the config file.</param>
/// <param name="File">The secret file's full path, for <see cref="SecretOrigin.File"/>.</param>
public sealed record SecretSource(string Setting, int Line, SecretOrigin Origin, string? File = null);

/// <summary>The reserved top-level key <c>rampart:</c>: settings of the process rather than of a pool.</summary>
public sealed record RampartSettings
{
    /// <summary>Admin HTTP listen address (host:port), or null when the admin server is off.</summary>
    public string? AdminListen { get; init; }
    public string? AdminUser { get; init; }
    public string? AdminPassword { get; init; }
    /// <summary>The admin server's certificate and key (PEM), or null: plain HTTP.</summary>
    public AdminTlsFiles? AdminTls { get; init; }
    /// <summary>Most client connections over all pools at once; 0 = unlimited (each pool's client_connections still applies).</summary>
    public int MaxConnections { get; init; }
    /// <summary>Reload when the configuration file changes on disk (as well as on SIGHUP).</summary>
    public bool WatchConfig { get; init; }
    /// <summary>Event loop threads; null = 1, as twemproxy. Read at start (a reload keeps the running number).</summary>
    public int? EventLoops { get; init; }
    /// <summary>
    /// The ACL users of <c>acl</c> and <c>acl_file</c>, or null when neither is given: then each pool has only Redis's
    /// default user, with its <c>redis_auth</c> as the password, exactly as before ACLs existed.
    /// </summary>
    public Security.AclTable? Acl { get; init; }
    /// <summary>How failed AUTHs slow down further AUTHs from the same source address (<c>auth_throttle:</c>).</summary>
    public AuthThrottleConfig AuthThrottle { get; init; } = new();
}

/// <summary><c>rampart: admin: cert_file/key_file</c>, full paths, checked to load together when the config was read.</summary>
public sealed record AdminTlsFiles(string CertFile, string KeyFile);
