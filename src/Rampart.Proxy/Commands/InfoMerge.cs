using System.Text;
using Rampart.Protocol;

namespace Rampart.Proxy.Commands;

/// <summary>
/// INFO for a pool of several servers: only what is true of every one of them. Each server's INFO is a bulk string of
/// "# Section" headers and "field:value" lines; the merged reply keeps, in the first server's order, the lines that
/// every server has word for word (redis_version, redis_mode, role, maxmemory_policy...), and drops the ones that
/// differ (uptime, ports, counters, keyspace). A client that reads the version or the role (StackExchange.Redis does
/// on connect) learns the truth; a client looking for a counter finds it missing rather than one server's number.
/// Off the data path: it allocates.
/// </summary>
internal static class InfoMerge
{
    public static string CommonLines(IEnumerable<byte[]> replies)
    {
        List<string[]>? servers = null;
        foreach (var reply in replies) (servers ??= []).Add(Lines(reply));
        if (servers is null) return "";
        var shared = new HashSet<string>(servers[0], StringComparer.Ordinal);
        foreach (var other in servers.Skip(1)) shared.IntersectWith(other);

        var output = new StringBuilder();
        string? pendingHeader = null;
        foreach (string line in servers[0])
        {
            if (line.StartsWith('#'))
            {
                pendingHeader = line;
                continue;
            }
            if (line.Length == 0 || !shared.Contains(line)) continue;
            if (pendingHeader is not null)
            {
                if (output.Length > 0) output.Append("\r\n");
                output.Append(pendingHeader).Append("\r\n");
                pendingHeader = null;
            }
            output.Append(line).Append("\r\n");
        }
        return output.ToString();
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
