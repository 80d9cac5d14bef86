using System.Text;
using Rampart.Protocol;

namespace Rampart.Proxy.Routing;

/// <summary>
/// A Redis Cluster redirection in a reply: <c>-MOVED slot host:port</c> (the slot lives elsewhere now: update the
/// map, send there) or <c>-ASK slot host:port</c> (it is migrating: send ASKING and the command there once, map
/// unchanged). Parsed from the reply bytes without allocating unless it is one; the host may be an IPv6 address
/// (the port is after the last colon) or empty (Redis 7's cluster-preferred-endpoint-type unknown-endpoint: the node
/// that answered).
/// </summary>
public readonly record struct ClusterRedirect(bool IsAsk, int Slot, string Host, int Port)
{
    /// <summary>Reads a MOVED or ASK error reply (RESP2 or RESP3 simple error); false for any other reply.</summary>
    public static bool TryParse(ReadOnlySpan<byte> reply, out ClusterRedirect redirect)
    {
        redirect = default;
        bool ask;
        if (reply.StartsWith("-MOVED "u8)) ask = false;
        else if (reply.StartsWith("-ASK "u8)) ask = true;
        else return false;
        var rest = reply[(ask ? 5 : 7)..];
        int end = rest.IndexOf("\r\n"u8);
        if (end < 0) return false;
        rest = rest[..end];
        int space = rest.IndexOf((byte)' ');
        if (space <= 0 || !RespNumber.TryParse(rest[..space], out long slot) || slot < 0 || slot >= ClusterSlot.Count) return false;
        var endpoint = rest[(space + 1)..];
        int colon = endpoint.LastIndexOf((byte)':');
        if (colon < 0 || !RespNumber.TryParse(endpoint[(colon + 1)..], out long port) || port is <= 0 or > 65535) return false;
        redirect = new ClusterRedirect(ask, (int)slot, Encoding.ASCII.GetString(endpoint[..colon]), (int)port);
        return true;
    }
}
