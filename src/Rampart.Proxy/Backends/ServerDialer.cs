using System.Net;
using System.Net.Sockets;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Backends;

/// <summary>
/// Opens one connection to a server on the event loop and runs the handshake (<see cref="ServerHandshake"/>): the same
/// for the shared connections and the dedicated ones, so both authenticate, select the database and go to the
/// confirmed master of a Sentinel pool. <c>resp3</c> connections also say HELLO 3 (the RESP3 lane). Returns the
/// address it was given, which a Sentinel pool compares with its current master. With <c>server_tls</c> a TLS
/// handshake comes between the connect and the Redis handshake.
/// </summary>
internal static class ServerDialer
{
    public static async Task<(LoopSocket Connection, EndPoint Address, long? ClientId)> ConnectAsync(ServerEndpoint server, EventLoop loop, bool resp3, bool askClientId = false)
    {
        var address = server.Address ?? throw new IOException(server.UnavailableReason ?? "no address");
        using var cts = new CancellationTokenSource(server.ConnectTimeout, server.Time);
        // The loop's connect never blocks, so a name is resolved first.
        var target = address is DnsEndPoint name ? await ResolveAsync(name, cts.Token) : address;
        var connection = new LoopSocket(NewSocket(server, target), loop);
        try
        {
            await connection.ConnectAsync(target, cts.Token);
            // server_tls: the handshake shares the connect's time limit; the Redis handshake then goes over TLS.
            if (Security.ServerTlsContext.For(server.Pool.ServerTls) is { } tls)
                await TlsHandshake.ConnectAsync(connection, tls.OptionsFor(HostOf(address)), cts.Token);
            var (version, clientId) = await ServerHandshake.RunAsync(connection, server.Pool, resp3, cts.Token, askClientId, server.IsClusterReplica);
            server.ServerVersion = version ?? server.ServerVersion;
            return (connection, address, clientId);
        }
        catch
        {
            connection.Close();
            throw;
        }
    }

    private static Socket NewSocket(ServerEndpoint server, EndPoint address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream,
            address.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            socket.NoDelay = true;
            if (server.Pool.TcpKeepalive) socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        }
        return socket;
    }

    /// <summary>The name a server's certificate is checked against when server_tls gives no server_name.</summary>
    internal static string HostOf(EndPoint address) => address switch
    {
        DnsEndPoint name => name.Host,
        IPEndPoint ip => ip.Address.ToString(),
        _ => "localhost", // a unix socket has no host name
    };

    /// <summary>The first IPv4 address of the name (IPv6 when it has none), looked up again at each connect.</summary>
    private static async Task<IPEndPoint> ResolveAsync(DnsEndPoint name, CancellationToken cancel) =>
        new(await HostResolver.ResolveAsync(name.Host, cancel), name.Port);
}
