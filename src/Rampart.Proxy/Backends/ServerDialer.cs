using System.Net;
using System.Net.Sockets;

namespace Rampart.Proxy.Backends;

/// <summary>
/// Opens one connection to a server and runs the handshake (<see cref="ServerHandshake"/>): the same for the shared
/// connections and the dedicated (pinned) ones, so both authenticate, select the database and go to the confirmed
/// master of a Sentinel pool. <paramref name="resp3"/> connections also say HELLO 3 (the RESP3 lane).
/// </summary>
internal static class ServerDialer
{
    public static async Task<(Socket Socket, EndPoint Address)> ConnectAsync(ServerEndpoint server, bool resp3)
    {
        var address = server.Address ?? throw new IOException(server.UnavailableReason ?? "no address");
        var family = address is DnsEndPoint ? AddressFamily.InterNetwork : address.AddressFamily;
        var socket = new Socket(family, SocketType.Stream,
            address.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            if (socket.AddressFamily != AddressFamily.Unix)
            {
                socket.NoDelay = true;
                if (server.Pool.TcpKeepalive) socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            }
            using var cts = new CancellationTokenSource(server.ConnectTimeout);
            await socket.ConnectAsync(address, cts.Token);
            server.ServerVersion = await ServerHandshake.RunAsync(socket, server.Pool, resp3, cts.Token) ?? server.ServerVersion;
            return (socket, address);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
