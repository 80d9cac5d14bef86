namespace Rampart.Proxy.Configuration;

/// <summary>
/// Reads Rampart's <c>cluster:</c> block of a pool (nutcracker has no such key): the seed nodes of a Redis Cluster, the
/// ACL user and password Rampart authenticates with on every node, and how often the slot map is checked.
/// </summary>
internal static class ClusterConfigReader
{
    private static readonly string[] Keys = ["nodes", "user", "password", "password_file", "refresh_interval"];

    /// <summary>
    /// Below this, slot-map checks would load every node of the cluster for little gain: MOVED replies and failed nodes
    /// already trigger a check at once, the interval only catches what no event announced.
    /// </summary>
    public const int MinRefreshIntervalMs = 100;

    public static ClusterConfig? Read(string poolContext, int line, YamlNode node, ErrorSink errors)
    {
        var context = $"{poolContext} cluster";
        if (node is not YamlMapping mapping)
        {
            errors.Add(node.Line, $"{context} must be a mapping (nodes, user, password, refresh_interval)");
            return null;
        }

        var before = errors.Count;
        var v = new ScalarValues(errors, context);
        var nodes = new List<ClusterNodeAddress>();
        string? user = null;
        var userLine = line;
        var password = new SecretSetting("password", v);
        var refreshInterval = new ClusterConfig { Nodes = [] }.RefreshIntervalMs;
        var sawNodes = false;

        foreach (var (key, entry) in MappingKeys.Known(mapping, Keys, context, errors))
        {
            var value = entry.Value;
            switch (key)
            {
                case "nodes":
                    sawNodes = true;
                    foreach (var (host, port, at) in HostPortListReader.Read(context, "nodes", "node", value, errors))
                        nodes.Add(new ClusterNodeAddress { Host = host, Port = port, Line = at });
                    break;
                case "user":
                    userLine = entry.Key.Line;
                    user = v.String(key, value);
                    break;
                case "password" or "password_file":
                    password.Read(key, entry);
                    break;
                case "refresh_interval":
                    if (v.Int(key, value, MinRefreshIntervalMs, "milliseconds between slot-map checks") is { } ri) refreshInterval = ri;
                    break;
            }
        }

        password.Finish();
        if (!sawNodes)
            errors.Add(line, $"{context}: nodes is missing (a list of seed host:port; the rest of the cluster is learned from them)");
        // AUTH user with no password cannot succeed: an ACL user always authenticates with both.
        if (user is not null && !password.IsGiven)
            errors.Add(userLine, $"{context}: user '{user}' has no password (a Redis ACL user authenticates with a user and a password; add password: or password_file:)");

        if (errors.Count != before) return null;
        return new ClusterConfig
        {
            Nodes = nodes,
            User = user,
            Password = password.Value,
            RefreshIntervalMs = refreshInterval,
            Line = line,
        };
    }
}
