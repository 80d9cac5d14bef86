namespace Rampart.Proxy.Configuration;

/// <summary>The reserved top-level key <c>rampart:</c>: process settings, never a pool.</summary>
internal static class RampartSettingsReader
{
    private static readonly string[] Keys = ["admin", "max_connections", "watch_config", "event_loops", "acl", "acl_file", "auth_throttle"];
    private static readonly string[] AdminKeys = ["listen", "user", "password", "password_file", "cert_file", "key_file"];
    /// <summary>Event loop threads at most: far more than the cores of any machine a proxy runs on.</summary>
    private const int MaxEventLoops = 64;

    /// <returns>The settings, and the admin listen address and its line for the check against pool listeners.</returns>
    public static (RampartSettings Settings, ListenAddress? AdminListen, int AdminLine) Read(YamlNode node, ErrorSink errors)
    {
        var settings = new RampartSettings();
        if (node is not YamlMapping mapping)
        {
            errors.Add(node.Line, "rampart must be a mapping of process settings (admin: ...)");
            return (settings, null, 0);
        }

        ListenAddress? adminListen = null;
        var adminLine = 0;
        var values = new ScalarValues(errors, "rampart");
        List<Security.AclUser>? aclList = null, aclFile = null;
        int aclLine = 0;
        foreach (var (name, entry) in MappingKeys.Known(mapping, Keys, "rampart", errors))
        {
            if (name == "acl")
            {
                aclLine = entry.Key.Line;
                aclList = AclConfigReader.ReadList(entry.Value, errors);
                continue;
            }
            if (name == "acl_file")
            {
                aclLine = entry.Key.Line;
                if (values.String(name, entry.Value) is { } path)
                {
                    aclFile = AclConfigReader.ReadFile(path, entry.Value.Line, errors);
                    errors.Secrets.Add(new SecretSource("rampart acl_file", entry.Key.Line, SecretOrigin.File, ConfigPaths.Resolve(path, errors.File)));
                }
                continue;
            }
            if (name == "max_connections")
            {
                if (values.Int(name, entry.Value, 0, "client connections over all pools, 0 = unlimited") is { } max)
                    settings = settings with { MaxConnections = max };
                continue;
            }
            if (name == "auth_throttle")
            {
                if (AuthThrottleReader.Read(entry.Value, errors) is { } throttle) settings = settings with { AuthThrottle = throttle };
                continue;
            }
            if (name == "event_loops")
            {
                if (values.Int(name, entry.Value, 1, "event loop threads", MaxEventLoops) is { } loops)
                    settings = settings with { EventLoops = loops };
                continue;
            }
            if (name == "watch_config")
            {
                if (values.Bool(name, entry.Value) is { } watch) settings = settings with { WatchConfig = watch };
                continue;
            }
            if (entry.Value is not YamlMapping admin)
            {
                errors.Add(entry.Value.Line, "rampart admin must be a mapping (listen, user, password, cert_file, key_file)");
                continue;
            }
            var v = new ScalarValues(errors, "rampart admin");
            int? userLine = null;
            var password = new SecretSetting("password", v);
            var tls = new AdminTlsReader(v);
            foreach (var (key, e) in MappingKeys.Known(admin, AdminKeys, "rampart admin", errors))
            {
                switch (key)
                {
                    case "listen":
                        if (v.String(key, e.Value) is not { } text) break;
                        if (HostPortParser.TryParse(text, out var host, out var port, out var error))
                        {
                            adminListen = new ListenAddress { Host = host, Port = port };
                            adminLine = e.Value.Line;
                            settings = settings with { AdminListen = adminListen.ToString() };
                        }
                        else
                            errors.Add(e.Value.Line, $"rampart admin: listen {error} (expected host:port)");
                        break;
                    case "user":
                        userLine = e.Key.Line;
                        settings = settings with { AdminUser = v.String(key, e.Value) };
                        break;
                    case "password" or "password_file":
                        password.Read(key, e);
                        break;
                    case "cert_file" or "key_file":
                        tls.Read(key, e);
                        break;
                }
            }
            password.Finish();
            settings = settings with { AdminPassword = password.Value, AdminTls = tls.Finish() };
            if (!admin.Entries.Any(x => x.Name == "listen"))
                errors.Add(admin.Line, "rampart admin: listen is missing (host:port of the admin HTTP server)");
            // Basic auth needs both halves; one alone is almost surely a typo that would leave the admin port open.
            if (userLine is null == password.IsGiven)
                errors.Add(userLine ?? (password.IsGiven ? password.Line : admin.Line), "rampart admin: user and password must be given together");
        }
        if (AclConfigReader.Combine(aclList, aclFile, aclLine, errors) is { } acl) settings = settings with { Acl = acl };
        return (settings, adminListen, adminLine);
    }
}
