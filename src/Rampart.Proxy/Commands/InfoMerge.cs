using System.Globalization;
using System.Text;
using Rampart.Protocol;

namespace Rampart.Proxy.Commands;

/// <summary>
/// INFO for a pool of several servers: the pool's answer, section by section, never one server's number passed off as
/// the pool's. Each server answers the same INFO arguments with the same sections in Redis's order ("# Section" header,
/// "field:value" lines, a blank line between sections), so the merged reply keeps the first server's sections, each
/// with its header (as Redis prints a header even over no line, "# Keyspace" of an empty server):
/// <list type="bullet">
/// <item><c>keyspace</c>: per database, summed (<see cref="InfoKeyspace"/>).</item>
/// <item><c>clients</c>: <c>connected_clients</c> is Rampart's own count for the pool; the recent maxima are the
/// largest; <c>maxclients</c> only if every server has the same; the other counts summed.</item>
/// <item><c>server</c>: the lines every server has word for word (redis_version, which StackExchange.Redis and ioredis
/// read, os, ...), with Rampart's <c>redis_mode</c>, uptime and <c>rampart_version</c> (<see cref="InfoFacts"/>).</item>
/// <item><c>cluster</c>: <c>cluster_enabled</c> follows Rampart's mode (1 in a cluster pool, as its CLUSTER answers
/// say), whatever the servers behind it are.</item>
/// <item><c>stats</c>: numbers summed (a percentage only if every server has the same).</item>
/// <item>every other section: the lines every server has word for word (role:master, settings...); lines that differ
/// (ports, ids, memory) are left out.</item>
/// </list>
/// A field whose values are not all numbers falls back to "the same on every server, else left out".
/// Off the data path: it allocates.
/// </summary>
internal static class InfoMerge
{
    private enum FieldMerge : byte { Common, Sum, Max }

    public static string Merge(IEnumerable<byte[]> replies, InfoFacts facts)
    {
        var servers = replies.Select(r => Sections(Lines(r))).ToList();
        if (servers.Count == 0) return "";
        var output = new StringBuilder();
        foreach (var (header, _) in servers[0])
        {
            var perServer = servers.Select(s => s.FirstOrDefault(x => x.Header == header).Lines ?? []).ToList();
            IEnumerable<string> lines = header switch
            {
                "# Keyspace" => InfoKeyspace.Merge(perServer),
                "# Server" => MergeFields(perServer, _ => FieldMerge.Common,
                    new()
                    {
                        ["redis_mode"] = facts.Mode,
                        ["uptime_in_seconds"] = facts.UptimeSeconds.ToString(CultureInfo.InvariantCulture),
                        ["uptime_in_days"] = (facts.UptimeSeconds / 86400).ToString(CultureInfo.InvariantCulture),
                    }).Append("rampart_version:" + InfoFacts.Version),
                "# Clients" => MergeFields(perServer, field => field switch
                {
                    "maxclients" => FieldMerge.Common,
                    _ when field.Contains("_max_", StringComparison.Ordinal) => FieldMerge.Max,
                    _ => FieldMerge.Sum,
                }, new() { ["connected_clients"] = facts.ConnectedClients.ToString(CultureInfo.InvariantCulture) }),
                "# Cluster" => MergeFields(perServer, _ => FieldMerge.Common,
                    new() { ["cluster_enabled"] = facts.Mode == "cluster" ? "1" : "0" }),
                "# Stats" => MergeFields(perServer, field => field.EndsWith("_perc", StringComparison.Ordinal) ? FieldMerge.Common : FieldMerge.Sum),
                _ => MergeFields(perServer, _ => FieldMerge.Common),
            };
            if (output.Length > 0) output.Append("\r\n");
            output.Append(header).Append("\r\n");
            foreach (string line in lines) output.Append(line).Append("\r\n");
        }
        return output.ToString();
    }

    /// <summary>
    /// One section's fields in the first server's order, each merged by its rule; <paramref name="replace"/> gives
    /// Rampart's own value for a field (written where the server has it, else at the start).
    /// </summary>
    private static List<string> MergeFields(List<string[]> perServer, Func<string, FieldMerge> rule, Dictionary<string, string>? replace = null)
    {
        var merged = new List<string>();
        var fields = perServer.Select(FieldsOf).ToList();
        var missing = new HashSet<string>(replace?.Keys.AsEnumerable() ?? []);
        foreach (string line in perServer[0])
        {
            var (name, _) = Split(line);
            if (name.Length == 0) continue;
            if (replace is not null && replace.TryGetValue(name, out string? own))
            {
                merged.Add(name + ":" + own);
                missing.Remove(name);
                continue;
            }
            var values = fields.Select(f => f.GetValueOrDefault(name)).ToList();
            if (MergeValues(values, rule(name)) is { } value) merged.Add(name + ":" + value);
        }
        merged.InsertRange(0, missing.Select(name => name + ":" + replace![name]));
        return merged;
    }

    /// <summary>A section's fields by name; a name a server repeats counts once, with its first value.</summary>
    private static Dictionary<string, string> FieldsOf(string[] lines)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in lines)
        {
            var (name, value) = Split(line);
            if (name.Length > 0) fields.TryAdd(name, value);
        }
        return fields;
    }

    /// <summary>Null when the field is left out: a Common field that differs, or is missing on a server.</summary>
    private static string? MergeValues(List<string?> values, FieldMerge merge)
    {
        if (merge != FieldMerge.Common && values.All(v => v is not null && long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
        {
            // Int128: no counter a server prints can make the sum overflow (and throw on a server's reader).
            var numbers = values.Select(v => (Int128)long.Parse(v!, CultureInfo.InvariantCulture));
            var result = merge == FieldMerge.Sum ? numbers.Aggregate(Int128.Zero, (a, b) => a + b) : numbers.Max();
            return result.ToString(CultureInfo.InvariantCulture);
        }
        if (merge != FieldMerge.Common && values.All(v => v is not null && IsDecimal(v)))
        {
            // Redis prints rates with a fixed number of decimals (%.2f): keep that many.
            int decimals = values.Max(v => v!.Length - v.IndexOf('.') - 1);
            var numbers = values.Select(v => decimal.Parse(v!, CultureInfo.InvariantCulture));
            var result = merge == FieldMerge.Sum ? numbers.Sum() : numbers.Max();
            return result.ToString("F" + decimals, CultureInfo.InvariantCulture);
        }
        return values.All(v => v is not null && v == values[0]) ? values[0] : null;
    }

    private static bool IsDecimal(string value) =>
        value.Contains('.') && decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _);

    private static (string Name, string Value) Split(string line)
    {
        int colon = line.IndexOf(':');
        return colon <= 0 ? ("", "") : (line[..colon], line[(colon + 1)..]);
    }

    /// <summary>An INFO text cut into its sections: each header with the non-empty lines under it.</summary>
    private static List<(string Header, string[] Lines)> Sections(string[] lines)
    {
        var sections = new List<(string Header, string[] Lines)>();
        string? header = null;
        var body = new List<string>();
        foreach (string line in lines.Append("# "))
        {
            if (!line.StartsWith('#'))
            {
                if (line.Length > 0) body.Add(line);
                continue;
            }
            if (header is not null) sections.Add((header, body.ToArray()));
            header = line;
            body.Clear();
        }
        return sections;
    }

    /// <summary>
    /// The lines of one INFO reply: <c>$len CRLF text CRLF</c>, or for a RESP3 client (its server connection said
    /// HELLO 3) the verbatim string <c>=len CRLF txt:text CRLF</c>.
    /// </summary>
    private static string[] Lines(byte[] reply)
    {
        if (reply.Length < 4 || reply[0] is not ((byte)'$' or (byte)'='))
            throw new RespProtocolException("Protocol error from server: INFO did not answer a bulk string");
        int start = Array.IndexOf(reply, (byte)'\n') + 1;
        if (reply[0] == (byte)'=') start += 4; // the format, "txt:"
        string text = Encoding.UTF8.GetString(reply, start, Math.Max(0, reply.Length - start - 2));
        return text.Split("\r\n");
    }
}
