using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Proxy;
using Rampart.Proxy.Transport;

namespace Rampart.Admin;

/// <summary>
/// twemproxy's stats port: a client connects, gets the current stats JSON (<see cref="ProxyServer.GetTwemproxyStatsJson"/>,
/// built by the engine from its live counters), and the connection is closed
/// (nutcracker's <c>-s/--stats-port</c>, <c>-a/--stats-addr</c>). Binds in the constructor, so an address in use is
/// a start-up error, as in nutcracker. Counters are read live at each connection, so there is no aggregation
/// interval (nutcracker's <c>-i</c> is accepted by the command line and has no effect). It lives beside the admin
/// HTTP server rather than in the engine: the engine never uses it, it is one more reader of the engine's public stats.
/// </summary>
public sealed partial class StatsServer : IDisposable
{
    private readonly ProxyServer _proxy;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private Task? _acceptLoop;

    public StatsServer(ProxyServer proxy, string address, int port, ILogger? logger = null)
    {
        _proxy = proxy;
        _logger = logger ?? NullLogger.Instance;
        var ip = HostResolver.Resolve(address);
        _socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (ip.Equals(IPAddress.IPv6Any)) _socket.DualMode = true;
            _socket.Bind(new IPEndPoint(ip, port));
            _socket.Listen(128);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>The bound address, with the real port when 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint { get; }

    public void Start() => _acceptLoop ??= AcceptLoopAsync();

    private Task AcceptLoopAsync() => AcceptLoop.RunAsync(_socket, client => _ = ServeAsync(client), OnAcceptError, _proxy.Time);

    /// <summary>Any accept failure: logged, and a 100 ms pause before the next accept.</summary>
    private TimeSpan OnAcceptError(SocketException e)
    {
        LogAcceptError(e.Message);
        return TimeSpan.FromMilliseconds(100);
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                byte[] json = _proxy.GetTwemproxyStatsJson();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), _proxy.Time);
                int sent = 0;
                while (sent < json.Length)
                    sent += await client.SendAsync(json.AsMemory(sent), SocketFlags.None, timeout.Token);
                client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The collector went away or stalled; the next one gets a fresh document.
            }
        }
    }

    public void Dispose() => _socket.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stats port: accept failed ({Reason})")]
    private partial void LogAcceptError(string reason);
}
