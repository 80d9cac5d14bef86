namespace Rampart.Proxy.Configuration;

/// <summary>
/// Loads a nutcracker.yml-compatible file: every top-level key is a pool, except the reserved <c>rampart:</c>.
/// Validates with nutcracker 0.5's rules (nc_conf.c), reporting every error with its line in one pass.
/// </summary>
/// <remarks>
/// Deliberate differences from nutcracker (each is commented where it is implemented):
/// a pool without <c>redis</c> (nutcracker: memcached) and <c>redis: false</c> are refused; <c>client_connections</c> is honoured
/// (nutcracker 0.5 resets it to 0); one address under two server names is refused; a unix listen mode must be octal;
/// "[v6]:port" listens are accepted; listen hosts are not resolved while checking; same unix socket path with two
/// modes is a duplicate listen; flow style (<c>[a, b]</c>, <c>{k: v}</c>) and nesting are allowed for Rampart's own
/// blocks; <c>rampart</c> cannot be a pool name; a file must be UTF-8 and within <see cref="ConfigLimits"/> (size,
/// nesting, node count). Like nutcracker: only "true"/"false", digits-only numbers, one document, no anchors or aliases.
/// </remarks>
public static class ConfigLoader
{
    /// <summary>The reserved top-level key for process settings; a twemproxy pool cannot be named this.</summary>
    public const string SettingsKey = "rampart";

    /// <summary>
    /// Loads <paramref name="path"/>: at most <see cref="ConfigLimits.MaxFileBytes"/> bytes of strict UTF-8, then as
    /// <see cref="LoadText"/>. Never throws: whatever the file holds, the outcome is a config or <c>file:line</c> errors.
    /// </summary>
    public static ConfigLoadResult LoadFile(string path) => LoadFile(path, EnvironmentExpansion.Process);

    /// <param name="environment">Where <c>${VAR}</c> in values takes its value from.</param>
    internal static ConfigLoadResult LoadFile(string path, Func<string, string?> environment)
    {
        var errors = new ErrorSink(path);
        var text = ConfigFileReader.Read(path, errors);
        return text is null ? Refused(errors) : LoadText(text, path, environment);
    }

    /// <summary>
    /// Validates <paramref name="yaml"/>, naming it <paramref name="sourceName"/> in errors (and resolving relative
    /// secret files against its directory when it is a file). Never throws.
    /// </summary>
    public static ConfigLoadResult LoadText(string yaml, string sourceName) => LoadText(yaml, sourceName, EnvironmentExpansion.Process);

    internal static ConfigLoadResult LoadText(string yaml, string sourceName, Func<string, string?> environment)
    {
        var errors = new ErrorSink(sourceName);
        ProxyConfig? config;
        try
        {
            config = Read(yaml, sourceName, errors, environment);
        }
        catch (Exception e)
        {
            // A bug in a reader, not a property of the file; still, a reload must not end a running proxy over it.
            errors.Add(0, $"internal error while checking the configuration ({e.GetType().Name}: {e.Message}); please report it");
            config = null;
        }
        return errors.Count == 0 && config is not null
            ? new ConfigLoadResult { Config = config, Errors = [] }
            : Refused(errors);
    }

    private static ConfigLoadResult Refused(ErrorSink errors) => new() { Errors = errors.ToSortedList() };

    private static ProxyConfig? Read(string yaml, string sourceName, ErrorSink errors, Func<string, string?> environment)
    {
        var root = YamlTreeReader.Read(yaml, errors, environment);
        if (errors.Count > 0) return null;
        if (root is null || root is YamlScalar { IsNull: true })
        {
            errors.Add(1, "the configuration has no pools (nutcracker: has no pools)");
            return null;
        }
        if (root is not YamlMapping top)
        {
            errors.Add(root.Line, "the top level must be a mapping of pool names to pool settings, as in nutcracker.yml");
            return null;
        }

        var settings = new RampartSettings();
        ListenAddress? adminListen = null;
        var adminLine = 0;
        var pools = new List<PoolConfig>();
        var poolLines = new Dictionary<string, int>(StringComparer.Ordinal);
        var listens = new Dictionary<string, (string Pool, int Line)>(StringComparer.OrdinalIgnoreCase);
        var settingsLine = 0;

        foreach (var entry in top.Entries)
        {
            // Only an empty key is refused: "null" or "~" is a fine pool name for nutcracker, which reads text.
            if (entry.Key is not YamlScalar key || key.Value.Length == 0)
            {
                errors.Add(entry.Key.Line, "a pool name must be a plain, non-empty name");
                continue;
            }
            var name = key.Value;

            if (name == SettingsKey)
            {
                if (settingsLine != 0)
                {
                    errors.Add(key.Line, $"'{SettingsKey}' is a duplicate (first at line {settingsLine})");
                    continue;
                }
                settingsLine = key.Line;
                (settings, adminListen, adminLine) = RampartSettingsReader.Read(entry.Value, errors);
                continue;
            }

            // nutcracker: "has pools with same name".
            if (!poolLines.TryAdd(name, key.Line))
            {
                errors.Add(key.Line, $"pool '{name}' is defined twice (first at line {poolLines[name]})");
                continue;
            }

            var result = PoolConfigReader.Read(name, key.Line, entry.Value, errors);
            if (result.Listen is { } listen)
            {
                // nutcracker compares the listen strings as written; we compare the parsed address, so
                // "/tmp/s 0666" and "/tmp/s 0600" (one socket file) collide too.
                if (listens.TryGetValue(listen.ToString(), out var other))
                    errors.Add(result.ListenLine, $"pools '{other.Pool}' and '{name}' have the same listen address '{listen}' (first at line {other.Line})");
                else
                    listens.Add(listen.ToString(), (name, result.ListenLine));
            }
            if (result.Pool is not null) pools.Add(result.Pool);
        }

        if (adminListen is not null && listens.TryGetValue(adminListen.ToString(), out var clash))
            errors.Add(adminLine, $"rampart admin listen address '{adminListen}' is also the listen address of pool '{clash.Pool}'");

        foreach (var pool in pools.Where(p => p.Users is not null))
            foreach (var user in pool.Users!.Where(u => u != "default" && settings.Acl?.Find(u) is null))
                errors.Add(pool.UsersLine, settings.Acl is null
                    ? $"pool '{pool.Name}': users needs ACL users (rampart: acl or acl_file)"
                    : $"pool '{pool.Name}': users names '{user}', which rampart: acl does not define");

        if (poolLines.Count == 0)
            errors.Add(top.Line, "the configuration has no pools (nutcracker: has no pools)");

        return errors.Count == 0
            ? new ProxyConfig { Source = sourceName, Pools = pools, Settings = settings, Secrets = errors.Secrets.ToList() }
            : null;
    }
}
