using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Pools;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Clients;

/// <summary>
/// Accepts client connections for one pool on TCP or a unix socket and starts a session for each. A TLS listener (the
/// pool's <c>tls:</c> block) runs each connection's handshake first, with the pool's current certificate, bounded in
/// time; a client that fails it is closed and counted, and never becomes a session.
/// Accept errors are split as Garnet does: the listener closed (stop), out of descriptors or buffers (log, back
/// off, go on), anything else (log, go on): a bad moment never stops the listener for good.
/// </summary>
internal sealed partial class PoolListener : IDisposable
{
    private static long _nextClientId;
    private static ReadOnlySpan<byte> MaxClientsReply => "-ERR max number of clients reached\r\n"u8;

    private readonly PoolRuntime _pool;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private LoopAcceptor? _acceptor;
    // Received from the process this one took over: that process may still hold the same socket, so it is released
    // with ListenerHandover.CloseShared, which keeps any shutdown by the .NET close off the shared socket.
    private readonly bool _inherited;
    // Given to the process that took this one over: never closed or unlinked here (the new process serves it).
    private volatile bool _handedOver;

    /// <summary>
    /// Binds <paramref name="listen"/> (the pool's, or the one a reload moves it to), or adopts
    /// <paramref name="inherited"/>, the same address's listening socket received from the process taken over;
    /// accepting starts with <see cref="Start"/>.
    /// </summary>
    public PoolListener(PoolRuntime pool, ListenAddress listen, int backlog, ILogger logger, Socket? inherited = null, bool tls = false)
    {
        _pool = pool;
        IsTls = tls;
        _logger = logger;
        Listen = listen;
        _inherited = inherited is not null;
        _socket = inherited ?? Bind(listen, backlog);
        if (inherited is not null) inherited.Listen(backlog); // listen() again only sets the queue length
        LocalEndPoint = _socket.LocalEndPoint!;
    }

    /// <summary>The listening socket, for handing it to a new process (<see cref="ListenerHandover"/>).</summary>
    public Socket Socket => _socket;

    /// <summary>
    /// A new process took this listener over: stop accepting (the socket stays open, its queue is the new process's
    /// now) and never close or unlink it here. A connection accepted at that very moment is served and drained.
    /// </summary>
    public void HandOver()
    {
        _handedOver = true;
        _acceptor?.Stop();
    }

    /// <summary>True for the pool's TLS listener: every client does a TLS handshake before its first request.</summary>
    public bool IsTls { get; }

    /// <summary>The address as configured.</summary>
    public ListenAddress Listen { get; }

    /// <summary>The bound address (with the real port when the config asked for port 0).</summary>
    public EndPoint LocalEndPoint { get; }

    /// <summary>A reload changed <c>backlog</c>: listen() again on the same socket sets the new queue length (Linux).</summary>
    public void SetBacklog(int backlog) => _socket.Listen(backlog);

    public void Start()
    {
        _acceptor = new LoopAcceptor(_socket, _pool.Loops.Next(), Admit, OnAcceptError, _pool.Time);
        _acceptor.Start();
    }

    private static Socket Bind(ListenAddress listen, int backlog)
    {
        Socket socket;
        if (listen.IsUnix)
        {
            if (File.Exists(listen.UnixPath)) File.Delete(listen.UnixPath!); // a stale socket file from a previous run
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Bind(new UnixDomainSocketEndPoint(listen.UnixPath!));
            if (listen.UnixMode is int mode && !OperatingSystem.IsWindows()) File.SetUnixFileMode(listen.UnixPath!, (UnixFileMode)mode);
        }
        else
        {
            var address = HostResolver.Resolve(listen.Host!);
            socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.Equals(IPAddress.IPv6Any))
                socket.DualMode = true;
            socket.Bind(new IPEndPoint(address, listen.Port));
        }
        socket.Listen(backlog);
        return socket;
    }

    /// <summary>Out of descriptors or buffers: pause 100 ms before accepting again; any other failure: go on at once.</summary>
    private TimeSpan OnAcceptError(SocketException e)
    {
        if (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
        {
            LogAcceptPressure(_pool.Config.Name, e.Message);
            return TimeSpan.FromMilliseconds(100);
        }
        LogAcceptError(_pool.Config.Name, e.Message);
        return TimeSpan.Zero;
    }

    /// <summary>An accepted client, on the acceptor's loop: a bug here costs this client, never the listener.</summary>
    private void Admit(Epoll.Handle client, PeerAddress peer)
    {
        try
        {
            AdmitOrRefuse(client, peer);
        }
        catch (Exception e)
        {
            client.Dispose();
            LogAdmitFault(e, _pool.Config.Name);
        }
    }

    private void AdmitOrRefuse(Epoll.Handle client, PeerAddress peer)
    {
        var config = _pool.Config;
        EndPoint? remote = peer.ToEndPoint(); // for the checks and their counts only: the session keeps the value
        if (!ClientAccess.Allows(config.Allow, remote))
        {
            // As HAProxy's tcp-request connection reject: closed at once, nothing written.
            _pool.CountDenied(remote); // counted before the close, so whoever sees the close sees the count
            client.Dispose();
            return;
        }
        var source = SourceAddress.Of(peer); // what the session computes again at its close, to release it
        var admission = _pool.TryAdmit(source);
        if (admission is not null)
        {
            // Redis's own answer when maxclients is reached, then the connection is closed (max_connections_per_ip too:
            // a client library knows what it means and backs off).
            _pool.CountRejected(remote, admission);
            _ = SocketIo.Send(client, MaxClientsReply, out _); // a new socket's buffer takes it; a failure changes nothing
            client.Dispose();
            return;
        }
        if (peer.IsIP) SocketIo.SetNoDelay(client);
        var connection = new LoopSocket(client, _pool.Loops.Next());
        try
        {
            connection.Start();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // epoll refused it (out of kernel memory, max_user_watches) or the proxy is stopping: this client only.
            LogRegisterFailed(_pool.Config.Name, e.Message);
            connection.Close();
            _pool.CancelAdmission(source);
            return;
        }
        if (IsTls) _ = HandshakeThenServeAsync(connection, peer, source);
        else Serve(connection, peer);
    }

    private void Serve(LoopSocket connection, PeerAddress peer)
    {
        var session = new ClientSession(Interlocked.Increment(ref _nextClientId), connection, _pool, _logger, peer);
        _pool.OnSessionStarted(session);
        session.Start();
    }

    /// <summary>A client of the TLS listener: its handshake, within <see cref="TlsHandshakeLimit"/>, then its session.</summary>
    private async Task HandshakeThenServeAsync(LoopSocket connection, PeerAddress peer, SourceAddress? source)
    {
        try
        {
            var options = _pool.ListenerTls?.Current ?? throw new IOException("the pool has no TLS settings now");
            using var limit = new CancellationTokenSource(TlsHandshakeLimit, _pool.Time);
            await TlsHandshake.AcceptAsync(connection, options, limit.Token);
        }
        catch (Exception e)
        {
            // A bad certificate, a plain client on the TLS port, a scanner: this connection only.
            connection.Close();
            _pool.CountTlsRefused(peer.ToEndPoint(), source, e is OperationCanceledException ? "no TLS handshake within 10 s" : e.Message);
            return;
        }
        Serve(connection, peer);
    }

    private static readonly TimeSpan TlsHandshakeLimit = TimeSpan.FromSeconds(10);

    private int _disposed;

    public void Dispose()
    {
        // Once only: a later pool may have bound the same unix path, and its socket file must stay.
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _acceptor?.Stop();
        if (_handedOver) return; // the process that took over serves this socket and its unix path now
        if (_inherited) ListenerHandover.CloseShared(_socket);
        else _socket.Dispose();
        if (Listen.IsUnix)
        {
            try { File.Delete(Listen.UnixPath!); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: accept under resource pressure ({Reason}); backing off 100 ms")]
    private partial void LogAcceptPressure(string pool, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: client closed at once: the event loop cannot watch it ({Reason})")]
    private partial void LogRegisterFailed(string pool, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pool {Pool}: unexpected fault admitting a client; closing that client only")]
    private partial void LogAdmitFault(Exception exception, string pool);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: accept failed ({Reason})")]
    private partial void LogAcceptError(string pool, string reason);
}
