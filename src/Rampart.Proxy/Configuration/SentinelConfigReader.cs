namespace Rampart.Proxy.Configuration;

/// <summary>Reads Rampart's <c>sentinel:</c> block of a pool (nutcracker has no such key).</summary>
internal static class SentinelConfigReader
{
    private static readonly string[] Keys = ["addresses", "quorum", "password", "password_file", "check_interval", "tls"];

    public static SentinelConfig? Read(string poolContext, int line, YamlNode node, ErrorSink errors)
    {
        var context = $"{poolContext} sentinel";
        if (node is not YamlMapping mapping)
        {
            errors.Add(node.Line, $"{context} must be a mapping (addresses, quorum, password, check_interval)");
            return null;
        }

        var before = errors.Count;
        var v = new ScalarValues(errors, context);
        var addresses = new List<SentinelAddress>();
        int? quorum = null;
        var quorumLine = line;
        var password = new SecretSetting("password", v);
        var checkInterval = 1000;
        var tls = false;
        var sawAddresses = false;

        foreach (var (key, entry) in MappingKeys.Known(mapping, Keys, context, errors))
        {
            var value = entry.Value;
            switch (key)
            {
                case "addresses":
                    sawAddresses = true;
                    foreach (var (host, port, at) in HostPortListReader.Read(context, "addresses", "address", value, errors))
                        addresses.Add(new SentinelAddress { Host = host, Port = port, Line = at });
                    break;
                case "quorum":
                    quorumLine = value.Line;
                    quorum = v.Int(key, value, 1, "sentinels that must agree");
                    break;
                case "password" or "password_file":
                    password.Read(key, entry);
                    break;
                case "check_interval":
                    if (v.Int(key, value, 1, "milliseconds") is { } ci) checkInterval = ci;
                    break;
                case "tls":
                    if (v.Bool(key, value) is { } t) tls = t;
                    break;
            }
        }

        password.Finish();
        if (!sawAddresses)
            errors.Add(line, $"{context}: addresses is missing (a list of sentinel host:port)");
        else if (addresses.Count > 0 && quorum > addresses.Count)
            errors.Add(quorumLine, $"{context}: quorum {quorum} is more than the {addresses.Count} sentinel(s) listed");

        if (errors.Count != before) return null;
        return new SentinelConfig
        {
            Addresses = addresses,
            // A majority by default: fewer could let a minority partition name a master on its own.
            Quorum = quorum ?? addresses.Count / 2 + 1,
            Password = password.Value,
            CheckIntervalMs = checkInterval,
            Tls = tls,
            Line = line,
        };
    }
}
