using System.Buffers.Binary;
using System.Net;

namespace Rampart.Proxy.Transport;

/// <summary>
/// A client's IP address and port as a value (24 bytes inside its session), read from accept4's sockaddr: an
/// <see cref="IPEndPoint"/> and its <see cref="IPAddress"/> would be two more objects per idle connection (about 80
/// bytes). The default value is no address (a unix socket client). The endpoint object is built when asked for: CLIENT
/// LIST's addr=, a log line, the admission checks at accept.
/// </summary>
internal readonly struct PeerAddress
{
    private const byte None = 0, V4 = 4, V6 = 6;

    // The address in network order: IPv4 in the low 32 bits of _low, IPv6 as its two halves.
    private readonly ulong _high;
    private readonly ulong _low;
    private readonly uint _scopeId;
    private readonly ushort _port;
    private readonly byte _family;

    private PeerAddress(ulong high, ulong low, uint scopeId, ushort port, byte family) =>
        (_high, _low, _scopeId, _port, _family) = (high, low, scopeId, port, family);

    public static PeerAddress IPv4(uint address, ushort port) => new(0, address, 0, port, V4);

    public static PeerAddress IPv6(ulong high, ulong low, ushort port, uint scopeId) => new(high, low, scopeId, port, V6);

    /// <summary>The value of an endpoint (tests compare what accept4 gives with what .NET's endpoints say).</summary>
    public static PeerAddress Of(IPEndPoint endpoint)
    {
        Span<byte> bytes = stackalloc byte[16];
        endpoint.Address.TryWriteBytes(bytes, out int length);
        return length == 4
            ? IPv4(BinaryPrimitives.ReadUInt32BigEndian(bytes), (ushort)endpoint.Port)
            : IPv6(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), (ushort)endpoint.Port,
                (uint)endpoint.Address.ScopeId);
    }

    /// <summary>False for a unix socket client.</summary>
    public bool IsIP => _family != None;

    /// <summary>True for an IPv4 peer, whose address is the low 32 bits of <see cref="Low"/>.</summary>
    public bool IsIPv4 => _family == V4;

    /// <summary>The first 64 bits of an IPv6 address, as a number (network order read big-endian).</summary>
    public ulong High => _high;

    /// <summary>The last 64 bits of an IPv6 address, or the IPv4 address, as a number.</summary>
    public ulong Low => _low;

    /// <summary>The endpoint, a new object each time; null for a unix socket client.</summary>
    public IPEndPoint? ToEndPoint()
    {
        if (_family == None) return null;
        Span<byte> bytes = stackalloc byte[16];
        if (_family == V4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)_low);
            return new IPEndPoint(new IPAddress(bytes[..4]), _port);
        }
        BinaryPrimitives.WriteUInt64BigEndian(bytes, _high);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _low);
        return new IPEndPoint(new IPAddress(bytes, _scopeId), _port);
    }
}
