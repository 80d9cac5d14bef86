using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Rampart.Proxy.Clients;

/// <summary>
/// Who a client is for the per-address limits (<c>max_connections_per_ip</c>, the AUTH throttle): an IPv4 address
/// whole (an IPv4-mapped IPv6 address as the IPv4 address it is), an IPv6 address by its /64, the block one host or
/// one subscriber is usually given, so an attacker cannot escape a limit by counting through its own /64. A value,
/// not an object: the tables keyed by it allocate nothing per lookup.
/// </summary>
internal readonly record struct SourceAddress(UInt128 Key)
{
    /// <summary>The client's source address, or null for a unix socket client (its file mode is its access control).</summary>
    public static SourceAddress? Of(EndPoint? remote)
    {
        if (remote is not IPEndPoint ip) return null;
        var address = ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.MapToIPv6().TryWriteBytes(bytes, out _);
            return new SourceAddress(BinaryPrimitives.ReadUInt128BigEndian(bytes));
        }
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear(); // the /64
        return new SourceAddress(BinaryPrimitives.ReadUInt128BigEndian(bytes));
    }

    /// <summary>
    /// The same key from an accepted client's address value, without an endpoint object: what a session computes when
    /// its limits ask, rather than keep (32 bytes per idle connection).
    /// </summary>
    public static SourceAddress? Of(Transport.PeerAddress peer)
    {
        if (!peer.IsIP) return null;
        const ulong MappedPrefix = 0xFFFFUL << 32; // ::ffff:a.b.c.d
        if (peer.IsIPv4) return new SourceAddress(new UInt128(0, MappedPrefix | (uint)peer.Low));
        if (peer.High == 0 && peer.Low >> 32 == 0xFFFF) return new SourceAddress(new UInt128(0, peer.Low)); // IPv4-mapped
        return new SourceAddress(new UInt128(peer.High, 0)); // the /64
    }

    /// <summary>For logs: the IPv4 address, or the IPv6 /64.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, Key);
        var address = new IPAddress(bytes);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4().ToString() : $"{address}/64";
    }
}
