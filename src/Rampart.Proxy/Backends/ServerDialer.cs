using System.Net;
using System.Net.Sockets;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Backends;

/// <summary>
/// Opens one connection to a server and runs the handshake (<see cref="ServerHandshake"/>): the same for the shared
/// connections (on the event loop) and the dedicated ones (on .NET's socket engine), so both authenticate, select the
/// database and go to the confirmed master of a Sentinel pool. <c>resp3</c> connections also say HELLO 3 (the RESP3
/// lane). Each returns the address it was given, which a Sentinel pool compares with its current master.
/// </summary>
internal static class ServerDialer
{
    /// <summary>A dedicated connection, on .NET's socket engine.</summary>
    public static async Task<(Socket Socket, EndPoint Address)> ConnectAsync(ServerEndpoint server, bool resp3)
    {
        var address = TargetOf(server);
        var socket = NewSocket(server, address);
        try
        {
            using var cts = new CancellationTokenSource(server.ConnectTimeout);
            await socket.ConnectAsync(address, cts.Token);
            await HandshakeAsync(server, new NetSocketChannel(socket), resp3, cts.Token);
            return (socket, address);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A shared connection, on the event loop (which needs the name resolved first: its connect never blocks).</summary>
    public static async Task<(LoopSocket Connection, EndPoint Address)> ConnectOnLoopAsync(ServerEndpoint server, EventLoop loop, bool resp3)
    {
        var address = TargetOf(server);
        using var cts = new CancellationTokenSource(server.ConnectTimeout);
        var target = address is DnsEndPoint name ? await ResolveAsync(name, cts.Token) : address;
        var connection = new LoopSocket(NewSocket(server, target), loop);
        try
        {
            await connection.ConnectAsync(target, cts.Token);
            await HandshakeAsync(server, connection, resp3, cts.Token);
            return (connection, address);
        }
        catch
        {
            connection.Close();
            throw;
        }
    }

    private static EndPoint TargetOf(ServerEndpoint server) =>
        server.Address ?? throw new IOException(server.UnavailableReason ?? "no address");

    private static Socket NewSocket(ServerEndpoint server, EndPoint address)
    {
        var family = address is DnsEndPoint ? AddressFamily.InterNetwork : address.AddressFamily;
        var socket = new Socket(family, SocketType.Stream,
            address.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            socket.NoDelay = true;
            if (server.Pool.TcpKeepalive) socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        }
        return socket;
    }

    private static async Task HandshakeAsync(ServerEndpoint server, IByteChannel channel, bool resp3, CancellationToken cancel) =>
        server.ServerVersion = await ServerHandshake.RunAsync(channel, server.Pool, resp3, cancel) ?? server.ServerVersion;

    /// <summary>The first IPv4 address of the name (IPv6 when it has none), as the server name is looked up at each connect.</summary>
    private static async Task<IPEndPoint> ResolveAsync(DnsEndPoint name, CancellationToken cancel)
    {
        var addresses = await Dns.GetHostAddressesAsync(name.Host, cancel);
        var chosen = Array.Find(addresses, a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? (addresses.Length > 0 ? addresses[0] : throw new SocketException((int)SocketError.HostNotFound));
        return new IPEndPoint(chosen, name.Port);
    }
}
