namespace Rampart.Proxy.Configuration;

/// <summary>A pool's <c>servers:</c> list: addresses for a plain pool, Sentinel master names for a sentinel pool.</summary>
internal static class ServerListReader
{
    public static IReadOnlyList<ServerConfig> Read(string context, YamlNode node, bool sentinel, ErrorSink errors)
    {
        if (node is not YamlSequence seq)
        {
            errors.Add(node.Line, $"{context}: servers must be a list (one \"- host:port:weight [name]\" per line)");
            return [];
        }
        if (seq.Items.Count == 0)
        {
            errors.Add(node.Line, $"{context}: servers is empty (nutcracker: pool has no servers)");
            return [];
        }

        var servers = new List<ServerConfig>();
        // nutcracker refuses two servers with the same name, where an unnamed server's name is its "host:port".
        // Rampart also refuses the same address under two names: it would be one backend counted twice.
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var addresses = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in seq.Items)
        {
            if (item is not YamlScalar { IsNull: false } scalar)
            {
                errors.Add(item.Line, $"{context}: each server must be a single line of text");
                continue;
            }

            ServerConfig server;
            if (sentinel)
            {
                if (!IsMasterName(scalar.Value))
                {
                    errors.Add(scalar.Line, $"{context}: with sentinel, each server is a Sentinel master name (such as 'mymaster'), got '{scalar.Shown}'");
                    continue;
                }
                server = new ServerConfig { Host = scalar.Value, Name = scalar.Value, Port = 0, Weight = 1, Line = scalar.Line };
            }
            else if (ServerLineParser.TryParse(scalar.Value, scalar.Line, out var parsed, out var error))
            {
                server = parsed!;
            }
            else
            {
                errors.Add(scalar.Line, $"{context}: {error}");
                continue;
            }

            var name = server.Name ?? server.Endpoint;
            if (names.TryGetValue(name, out var firstName))
                errors.Add(scalar.Line, $"{context}: servers have the same name '{name}' (first at line {firstName})");
            else if (!sentinel && addresses.TryGetValue(server.Endpoint, out var firstAddress))
                errors.Add(scalar.Line, $"{context}: server address {server.Endpoint} is listed twice (first at line {firstAddress})");
            names.TryAdd(name, scalar.Line);
            if (!sentinel) addresses.TryAdd(server.Endpoint, scalar.Line);
            servers.Add(server);
        }
        return servers;
    }

    /// <summary>Sentinel master names are single words; a colon means someone wrote an address by mistake.</summary>
    private static bool IsMasterName(string s) => s.Length > 0 && !s.Any(c => char.IsWhiteSpace(c) || c == ':');
}
