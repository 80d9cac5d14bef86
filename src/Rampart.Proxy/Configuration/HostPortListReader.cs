namespace Rampart.Proxy.Configuration;

/// <summary>
/// A YAML list of "host:port" addresses (a sentinel block's <c>addresses</c>, a cluster block's <c>nodes</c>): at least
/// one, each parsed by <see cref="HostPortParser"/> (IPv6 in brackets), none twice. One reader, so both blocks accept
/// and refuse the same addresses with the same words.
/// </summary>
internal static class HostPortListReader
{
    /// <param name="key">The list's key, for messages ("addresses").</param>
    /// <param name="item">What one entry is called, for messages ("address").</param>
    /// <returns>The addresses that parsed, in file order; the bad ones are reported and left out.</returns>
    public static List<(string Host, int Port, int Line)> Read(string context, string key, string item, YamlNode node, ErrorSink errors)
    {
        var into = new List<(string Host, int Port, int Line)>();
        if (node is not YamlSequence seq || seq.Items.Count == 0)
        {
            errors.Add(node.Line, $"{context}: {key} must be a non-empty list of host:port");
            return into;
        }
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in seq.Items)
        {
            if (entry is not YamlScalar { IsNull: false } s)
            {
                errors.Add(entry.Line, $"{context}: each {item} must be host:port");
                continue;
            }
            if (!HostPortParser.TryParse(s.Value, out var host, out var port, out var error))
            {
                errors.Add(s.Line, $"{context}: {item} {error}");
                continue;
            }
            var shown = Show(host, port);
            if (!seen.TryAdd(shown, s.Line))
            {
                errors.Add(s.Line, $"{context}: {item} {shown} is listed twice (first at line {seen[shown]})");
                continue;
            }
            into.Add((host, port, s.Line));
        }
        return into;
    }

    /// <summary>"host:port", with an IPv6 host in brackets, as the records' ToString shows it.</summary>
    public static string Show(string host, int port) => host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";
}
