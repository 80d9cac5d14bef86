using System.Net;
using System.Net.Sockets;

namespace Rampart.Proxy.Transport;

/// <summary>
/// The one way Rampart turns a host name into an address, for listeners (pools, the admin and stats ports) and
/// servers alike: an IP literal is itself; a name is looked up and its first IPv4 address is taken, an IPv6 one only
/// when it has none (most Redis setups listen on IPv4). A name with no address is <see cref="SocketError.HostNotFound"/>.
/// </summary>
public static class HostResolver
{
    public static IPAddress Resolve(string host) =>
        IPAddress.TryParse(host, out var ip) ? ip : Choose(Dns.GetHostAddresses(host));

    public static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancel) =>
        IPAddress.TryParse(host, out var ip) ? ip : Choose(await Dns.GetHostAddressesAsync(host, cancel));

    private static IPAddress Choose(IPAddress[] addresses) =>
        Array.Find(addresses, a => a.AddressFamily == AddressFamily.InterNetwork)
        ?? (addresses.Length > 0 ? addresses[0] : throw new SocketException((int)SocketError.HostNotFound));
}
