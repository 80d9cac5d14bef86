using System.Net;
using System.Net.Sockets;

namespace Rampart.Proxy.Clients;

/// <summary>
/// A pool's <c>allow:</c> list, checked once at accept (HAProxy's <c>tcp-request connection reject</c>). A client on a
/// dual-stack listener arrives as an IPv4-mapped IPv6 address and is matched as the IPv4 address it is; an IPv4
/// client also matches IPv6 blocks that contain its mapped form (<c>::ffff:0:0/96</c>, <c>::/0</c>).
/// </summary>
internal static class ClientAccess
{
    public static bool Allows(IReadOnlyList<IPNetwork>? allow, EndPoint? remote)
    {
        if (allow is null) return true;
        if (remote is not IPEndPoint ip) return true; // a unix socket: its file mode decides who may connect
        var address = ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
        IPAddress? mapped = address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : null;
        foreach (var network in allow)
        {
            if (network.BaseAddress.AddressFamily == address.AddressFamily)
            {
                if (network.Contains(address)) return true;
            }
            else if (mapped is not null && network.Contains(mapped))
            {
                return true;
            }
        }
        return false;
    }
}
