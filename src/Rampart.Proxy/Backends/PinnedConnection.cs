using System.Net;
using System.Net.Sockets;
using Rampart.Protocol;

namespace Rampart.Proxy.Backends;

/// <summary>What a dedicated connection tells its current owner. Called on the connection's reader thread.</summary>
internal interface IPinnedReceiver
{
    /// <summary>One complete reply (or pub/sub push), in the order the server wrote it.</summary>
    void OnReply(PinnedConnection from, ReadOnlySpan<byte> reply);

    /// <summary>Every reply of one socket read has been handed over: wake the client once.</summary>
    void OnReadDone(PinnedConnection from);

    /// <summary>The connection is gone (or never came up); <paramref name="error"/> is the reply for what waited.</summary>
    void OnLost(PinnedConnection from, string error);
}

/// <summary>
/// One dedicated server connection, lent to one client at a time for as long as that client has connection state
/// (a transaction, a WATCH, subscriptions, a blocking call). It connects with the same handshake as the shared
/// connections (<see cref="ServerDialer"/>), accepts bytes before it is connected (they leave once it is), and hands
/// every reply to its current owner in order. It never sees another client's requests while lent.
/// </summary>
internal sealed class PinnedConnection
{
    private const int ReceiveChunk = 16 * 1024;

    private readonly object _gate = new();
    private readonly PinnedPool _pool;
    private ByteBuffer _outbox = new(512);
    private ByteBuffer _sending = new(512);
    private Transport.LoopSocket? _socket;
    private bool _connected;
    private bool _sendRunning;
    private int _dead;
    private string _deathReason = "connection closed";
    private volatile IPinnedReceiver? _receiver;

    public PinnedConnection(ServerEndpoint server, PinnedPool pool, bool resp3)
    {
        Resp3 = resp3;
        Server = server;
        _pool = pool;
    }

    public ServerEndpoint Server { get; }
    /// <summary>True when its handshake said HELLO 3: it serves RESP3 clients only (replies pass through verbatim).</summary>
    public bool Resp3 { get; }
    /// <summary>The address it connected to (for a Sentinel pool, the master confirmed then); null until connected.</summary>
    public EndPoint? Target { get; private set; }
    public bool IsDead => Volatile.Read(ref _dead) != 0;
    /// <summary>A warm connection (pinned_min_idle) still being opened: not yet idle, lent to nobody. Owned by the pool's lock.</summary>
    public bool Warming { get; set; }
    /// <summary>The kind this connection counts against while it is not idle; null when idle or dead. Owned by the pool's lock.</summary>
    public PinnedUse? Use { get; set; }

    /// <summary>This connection's id on the server (CLIENT ID, asked in the handshake); 0 until connected, or if refused.</summary>
    public long ServerClientId => Volatile.Read(ref _serverClientId);
    private long _serverClientId;

    /// <summary>
    /// Marks this connection as never to be lent again (<see cref="PinnedPool.Return"/> closes it): its server-side
    /// state may reach a later client. Set when CLIENT UNBLOCK naming it was sent over another connection (under its
    /// client's pin lock, while a blocking call is out: the UNBLOCK may arrive after the call ended on its own and
    /// would wake the next client's call), when a tracking client's REDIRECT names it (invalidations would follow it
    /// to its next client), and for a connection handed whole to one client (CLIENT TRACKING, MONITOR).
    /// </summary>
    public void MarkNotReusable() => Interlocked.Exchange(ref _notReusable, 1); // a full fence: see PinnedSession.MarkForUnblock
    public bool NotReusable => Volatile.Read(ref _notReusable) != 0;
    private int _notReusable;

    public void Attach(IPinnedReceiver receiver) => _receiver = receiver;
    public void Detach() => _receiver = null;

    public void Start() => _ = RunAsync();

    /// <summary>
    /// Queues bytes for the server; false when the connection is dead (its owner hears of it through OnLost). Without
    /// <paramref name="flush"/> they wait for <see cref="Flush"/>, so a client's pipelined transaction leaves in one write.
    /// </summary>
    public bool Send(ReadOnlySpan<byte> bytes, bool flush = true)
    {
        bool start = false;
        lock (_gate)
        {
            if (IsDead) return false;
            _outbox.Write(bytes);
            if (flush && _connected && !_sendRunning) start = _sendRunning = true;
        }
        if (start) _ = SendLoopAsync();
        return true;
    }

    /// <summary>Starts sending what <see cref="Send"/> queued without flushing.</summary>
    public void Flush()
    {
        bool start = false;
        lock (_gate)
        {
            if (!IsDead && _connected && !_sendRunning && _outbox.Length > 0) start = _sendRunning = true;
        }
        if (start) _ = SendLoopAsync();
    }

    public void Kill(string reason)
    {
        Transport.LoopSocket? socket;
        lock (_gate)
        {
            if (Interlocked.CompareExchange(ref _dead, 1, 0) != 0) return;
            _deathReason = reason;
            socket = _socket;
        }
        if (socket is null) return; // still connecting: RunAsync sees the flag and finishes
        socket.Close();
    }

    /// <summary>
    /// Gives the connection back clean: unsubscribe-all, DISCARD and UNWATCH as its state needs, then a PING with a
    /// marker; every reply up to the marker's is dropped, and the connection goes back to the idle pool. If the marker
    /// comes back in subscribed form, the state was not what it seemed and the connection is closed instead.
    /// </summary>
    public void CleanAndReturn(bool multi, bool subscribed)
    {
        var cleaner = new Cleaner(this);
        Attach(cleaner);
        using var commands = new ByteBuffer(256);
        if (subscribed)
        {
            // First: a RESP2 subscribed connection refuses UNWATCH, and a WATCH made before SUBSCRIBE would survive.
            RespCommands.Write(commands, "UNSUBSCRIBE");
            RespCommands.Write(commands, "PUNSUBSCRIBE");
            RespCommands.Write(commands, "SUNSUBSCRIBE");
        }
        if (multi) RespCommands.Write(commands, "DISCARD");
        RespCommands.Write(commands, "UNWATCH");
        RespCommands.Write(commands, "PING", Cleaner.Marker);
        if (!Send(commands.Span)) Kill("connection lost while being cleaned");
        else _ = KillUnlessCleanAsync(cleaner);
    }

    /// <summary>A server that froze while a connection was being cleaned must not hold a pool slot until TCP gives up.</summary>
    private async Task KillUnlessCleanAsync(Cleaner cleaner)
    {
        int timeout = _pool.CleanTimeoutMs;
        await Task.Delay(TimeSpan.FromMilliseconds(timeout), Server.Time);
        if (!cleaner.Finished) Kill($"not proved clean within {timeout} ms");
    }

    private async Task RunAsync()
    {
        Transport.LoopSocket socket;
        EndPoint target;
        try
        {
            long? clientId;
            (socket, target, clientId) = await ServerDialer.ConnectAsync(Server, Server.Loops.Next(), Resp3, askClientId: true);
            Volatile.Write(ref _serverClientId, clientId ?? 0);
        }
        catch (ServerHandshake.Resp3RefusedException e)
        {
            Server.OnResp3Refused(e.Message);
            Interlocked.Exchange(ref _dead, 1);
            Finish(Server.Resp3Refused!);
            return;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or RespProtocolException)
        {
            string reason = SocketErrors.Describe(e);
            Interlocked.Exchange(ref _dead, 1);
            Finish(Server.UnavailableReason ?? $"ERR rampart: server {Server.Label} unavailable: {reason}");
            return;
        }
        bool start = false;
        lock (_gate)
        {
            _socket = socket;
            Target = target;
            _connected = true;
            if (IsDead) socket.Close();
            else if (_outbox.Length > 0) start = _sendRunning = true;
        }
        if (start) _ = SendLoopAsync();
        // The master may have moved while we connected; a recycle before we were listed missed it.
        if (!target.Equals(Server.Address)) Kill("master changed while connecting");
        else if (Warming) _pool.OnWarmConnected(this); // (read without the lock: only the pool clears it, and only after this)
        await ReadLoopAsync(socket);
    }

    private async Task SendLoopAsync()
    {
        while (true)
        {
            Transport.LoopSocket socket;
            lock (_gate)
            {
                if (_outbox.Length == 0 || IsDead)
                {
                    _sendRunning = false;
                    return;
                }
                (_outbox, _sending) = (_sending, _outbox);
                socket = _socket!;
            }
            try
            {
                await socket.SendAsync(_sending.Memory);
                Server.Stats.AddSent(_sending.Length);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) // IOException: a TLS record or alert
            {
                Kill($"write failed: {SocketErrors.Describe(e)}");
            }
            _sending.Clear();
            _sending.ShrinkIfEmpty(512); // a large request made it grow; an idle connection in the pool keeps it small
        }
    }

    private async Task ReadLoopAsync(Transport.LoopSocket socket)
    {
        var buffer = new ByteBuffer(ReceiveChunk * 2);
        var scanner = new ReplyScanner();
        try
        {
            while (!IsDead)
            {
                int read = await socket.ReceiveAsync(buffer.GetMemory(ReceiveChunk));
                if (read == 0)
                {
                    Kill("server closed the connection");
                    break;
                }
                buffer.Advance(read);
                Server.Stats.AddReceived(read);
                IPinnedReceiver? receiver = null;
                try
                {
                    while (buffer.Length > 0 && scanner.TryScan(buffer.Span, out int length))
                    {
                        receiver = _receiver ?? throw new RespProtocolException("Protocol error from server: a reply arrived on an idle dedicated connection");
                        receiver.OnReply(this, buffer.Span[..length]);
                        buffer.Consume(length);
                    }
                }
                finally
                {
                    // Replies taken before bytes that are not a reply are delivered, not held until the client sends again.
                    receiver?.OnReadDone(this);
                }
                buffer.ShrinkIfEmpty(ReceiveChunk * 2); // likewise after a large reply
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) // IOException: a TLS record or alert
        {
            Kill(SocketErrors.Describe(e));
        }
        catch (RespProtocolException e)
        {
            Server.Stats.AddError();
            Kill(e.Message);
        }
        finally
        {
            buffer.Dispose();
            Finish($"ERR rampart: connection to server {Server.Label} lost ({_deathReason})");
        }
    }

    private void Finish(string error)
    {
        _pool.OnDead(this);
        _receiver?.OnLost(this, error);
        _receiver = null;
    }

    /// <summary>The owner of a connection being cleaned: drops replies until the marker's, then returns it.</summary>
    private sealed class Cleaner(PinnedConnection connection) : IPinnedReceiver
    {
        public const string Marker = "rampart-clean";
        private static ReadOnlySpan<byte> CleanReply => "$13\r\nrampart-clean\r\n"u8;
        private static ReadOnlySpan<byte> SubscribedReply => "*2\r\n$4\r\npong\r\n$13\r\nrampart-clean\r\n"u8;

        private volatile bool _finished;

        /// <summary>True once the marker came back (returned or killed) or the connection was lost.</summary>
        public bool Finished => _finished;

        public void OnReply(PinnedConnection from, ReadOnlySpan<byte> reply)
        {
            if (reply.SequenceEqual(CleanReply))
            {
                _finished = true;
                connection._pool.Return(connection);
            }
            else if (reply.SequenceEqual(SubscribedReply))
            {
                _finished = true;
                connection.Kill("still subscribed after cleaning");
            }
        }

        public void OnReadDone(PinnedConnection from) { }

        public void OnLost(PinnedConnection from, string error) => _finished = true;
    }
}

/// <summary>Writes a command as a RESP multibulk of strings (Rampart's own commands to a server).</summary>
internal static class RespCommands
{
    public static void Write(ByteBuffer output, params string[] args)
    {
        RespWriter.ArrayHeader(output, args.Length);
        foreach (var arg in args) RespWriter.Bulk(output, arg);
    }
}
