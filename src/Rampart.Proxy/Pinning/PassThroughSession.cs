using System.Text;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Commands;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// A client that has taken a server connection whole: CLIENT TRACKING ON (the server must see every read of the
/// client on one connection to know what it caches, and sends invalidations there) or MONITOR (the connection becomes a
/// stream). From then until it leaves, every request of the client goes to that dedicated connection as it came, and
/// everything the server writes there (replies, RESP3 invalidation pushes, the monitor stream, pub/sub messages) is
/// relayed to it in the server's order, as if it were connected to the server itself. The connection is never lent
/// to another client afterwards: its tracking state is this client's.
/// Rampart still applies its own rules on the way: the pool's command policy, the pool's database, its own client
/// ids (CLIENT ID, the id a REDIRECT names); those answers are sent through the server as a tiny script, so they keep
/// their place among the server's replies without Rampart having to count them.
/// </summary>
internal sealed class PassThroughSession : IClientPin, IPinnedReceiver
{
    private const string ReturnError = "return redis.error_reply(ARGV[1])";
    private const string ReturnInteger = "return tonumber(ARGV[1])";

    private readonly object _gate = new();
    private readonly ClientSession _session;
    private readonly ServerEndpoint _server;
    private PinnedConnection? _conn;
    private readonly RelaySlot _relay;
    // The read that relayed RESET's reply completed its slot early: it still wakes the client when it is done.
    private bool _wake;
    private bool _ended;
    // Set when RESET was sent: later requests wait for its reply, after which the client is back on the shared path.
    private TaskCompletionSource? _reset;
    // The Rampart client id tracking redirects to, as the client named it; 0 without a redirect (the server knows the
    // redirect by its own id for that client's connection).
    private long _redirect;

    private PassThroughSession(ClientSession session, ServerEndpoint server)
    {
        _session = session;
        _server = server;
        _relay = new RelaySlot(session);
    }

    /// <summary>True for CLIENT TRACKING ON and MONITOR: the command that hands the client its own connection.</summary>
    public static bool Wants(CommandInfo command, Request request) =>
        command.TakesWholeConnection
        && (command.Name == "monitor" || request.Count >= 3 && Ascii.EqualsIgnoreCase(request[2], "on"u8));

    /// <summary>The error for such a command from a client whose dedicated connection holds other state.</summary>
    public static string RefusedWhilePinned(CommandInfo command) =>
        $"ERR rampart: '{command.DisplayName}' is not supported in a transaction, with a WATCH, while subscribed or in a blocking call: it takes the client's server connection whole; send it before";

    /// <summary>
    /// CLIENT TRACKING ON or MONITOR from a client on the shared path: hands it a dedicated connection of its own and
    /// sends the command there. False when it must wait for the client's earlier replies first.
    /// </summary>
    public static bool Begin(ClientSession session, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var routing = session.Pool.Routing;
        if (!routing.IsSingleServer)
        {
            session.ReplyError($"ERR rampart: '{command.DisplayName}' needs a server connection of its own to one server; pool '{session.Pool.Config.Name}' has {routing.Servers.Count} servers");
            return true;
        }
        // Earlier requests may still be on a shared connection: the server must run them first, and their replies
        // must reach the client before anything relayed from the new connection.
        if (session.HasPendingReplies)
        {
            session.DeferUntilDrained();
            return false;
        }
        var server = routing.Default;
        var pass = new PassThroughSession(session, server);
        var conn = server.Pinned.TryRent(pass, session.Resp3, PinnedUse.Subscriber, out var error);
        if (conn is not null && conn.IsDead)
        {
            conn.Detach();
            error = server.UnavailableReason ?? $"ERR rampart: server {server.Label} unavailable";
            conn = null;
        }
        if (conn is null)
        {
            session.ReplyError(error!);
            return true;
        }
        conn.MarkNotReusable();
        lock (pass._gate)
        {
            pass._conn = conn;
            session.Pin = pass;
            pass.Relay(command, request, raw, inline);
        }
        return true;
    }

    public PinnedResult Dispatch(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        lock (_gate)
        {
            if (_reset is { } reset)
            {
                // After RESET the client is back on the shared path, once the server has answered it.
                _session.DeferUntil(reset.Task);
                return PinnedResult.Deferred;
            }
            if (_ended || _conn is null) return PinnedResult.Done; // the connection is gone: the client is closing
            var command = CommandTable.Find(request.Command);
            if (command is { IsContainer: true } && request.Count >= 2) command = CommandTable.FindSubcommand(command, request[1]) ?? command;
            if (command is null || command.IsContainer && request.Count < 2 || !command.ArityAccepts(request.Count))
                SendAsIs(request, raw, inline); // the server answers with Redis's own error
            else Relay(command, request, raw, inline);
            return PinnedResult.Done;
        }
    }

    /// <summary>A known command, well formed: the pool's rules first, then to the server.</summary>
    private void Relay(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        _session.LastCommand = command;
        // ACL users: the same check as on the shared path (the server answers the error in order with the rest).
        if (_session.Pool.Acl is { } acl && Security.AclGate.Refusal(_session, acl, command, request) is { } refusal)
        {
            SendError(refusal);
            return;
        }
        var policy = _session.Pool.Commands;
        if (policy.HandlingOf(command) == CommandHandling.Unsupported)
        {
            SendError(policy.RefusalOf(command));
            return;
        }
        switch (command.Name)
        {
            case "client|id":
                SendScript(ReturnInteger, _session.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return;
            case "client|kill" or "client|unblock" or "client|list":
                // On the server they would name its own clients (Rampart's connections among them), not the pool's.
                SendError($"ERR rampart: '{command.DisplayName}' is not supported on a connection in tracking or monitor mode; send it from another connection");
                return;
            case "select" when LocalCommands.SelectRefusal(_session, request[1]) is { } selectRefusal:
                SendError(selectRefusal);
                return;
            case "hello" when request.Count >= 2 && RespNumber.TryParse(request[1], out long protocol) && protocol is 2 or 3:
                _session.Resp3 = protocol == 3; // the server switches this connection; its replies come in the new protocol
                break;
            case "client|tracking":
                _redirect = 0;
                if (TryTranslateRedirect(request) is { } translated)
                {
                    SendArgs(translated);
                    return;
                }
                break;
            case "reset":
                // The server clears the connection (tracking, monitor, subscriptions...) and answers +RESET; then the
                // client leaves this connection, which closes (OnReply), and Rampart resets its side as for a RESET.
                _reset = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                break;
            case "client|getredir" when _redirect != 0:
                SendScript(ReturnInteger, _redirect.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return;
        }
        SendAsIs(request, raw, inline);
    }

    /// <summary>
    /// CLIENT TRACKING ... REDIRECT id names Rampart's client id: the request with the server-side id of that client's
    /// dedicated connection to the same server (a subscriber of __redis__:invalidate, or another tracking client).
    /// Null when it names no REDIRECT; an error sent in its place when the client is not found there.
    /// </summary>
    private byte[][]? TryTranslateRedirect(Request request)
    {
        for (int i = 2; i < request.Count - 1; i++)
        {
            if (!Ascii.EqualsIgnoreCase(request[i], "REDIRECT"u8)) continue;
            long? serverId = null;
            if (RespNumber.TryParse(request[i + 1], out long id))
                serverId = id == _session.Id ? _conn!.ServerClientId : _session.Pool.FindSession(id)?.Pin?.RedirectTargetOn(_server);
            if (serverId is not { } target || target == 0)
            {
                SendError("ERR The client ID you want redirect to does not exist");
                return [];
            }
            if (Ascii.EqualsIgnoreCase(request[2], "on"u8)) _redirect = id; // CLIENT GETREDIR names it, as Redis would
            var args = new byte[request.Count][];
            for (int a = 0; a < request.Count; a++) args[a] = request[a].ToArray();
            args[i + 1] = Encoding.ASCII.GetBytes(target.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return args;
        }
        return null;
    }

    private void SendAsIs(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (!inline)
        {
            _conn!.Send(raw, flush: false);
            return;
        }
        using var encoded = new ByteBuffer(256);
        CommandDispatcher.WriteMultibulk(encoded, request);
        _conn!.Send(encoded.Span, flush: false);
    }

    /// <summary>Rampart's own error, sent through the server so it keeps its place among the server's replies.</summary>
    private void SendError(string error) => SendScript(ReturnError, error);

    private void SendScript(string script, string argument) =>
        SendArgs([.. new[] { "EVAL", script, "0", argument }.Select(Encoding.UTF8.GetBytes)]);

    private void SendArgs(byte[][] args)
    {
        if (args.Length == 0) return;
        using var encoded = new ByteBuffer(256);
        RespWriter.ArrayHeader(encoded, args.Length);
        foreach (var arg in args) RespWriter.Bulk(encoded, arg);
        _conn!.Send(encoded.Span, flush: false);
    }

    // ---------------------------------------------------------------- the server's side (connection reader)

    public void OnReply(PinnedConnection from, ReadOnlySpan<byte> reply)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(from, _conn) || _ended) return;
            _relay.Write(reply); // the server applies CLIENT REPLY itself on this connection: what it sends, the client gets
            if (_reset is not null && reply.SequenceEqual("+RESET\r\n"u8)) EndAfterReset(from);
        }
    }

    /// <summary>
    /// RESET's reply is on its way to the client: the connection (whatever the server had left on it) closes, the
    /// session's own state is reset as Rampart's RESET does, and the requests that waited go to the shared path.
    /// </summary>
    private void EndAfterReset(PinnedConnection conn)
    {
        _ended = true;
        _conn = null;
        _wake = _relay.Complete();
        conn.Detach();
        conn.Kill("its client sent RESET");
        _session.Name = null;
        _session.IsAuthenticated = _session.Pool.Config.RedisAuth is null;
        _session.Resp3 = false;
        if (ReferenceEquals(_session.Pin, this)) _session.Pin = null;
        _reset!.TrySetResult();
    }

    public void OnReadDone(PinnedConnection from)
    {
        bool wake;
        lock (_gate)
        {
            wake = _relay.Complete() | _wake;
            _wake = false;
        }
        if (wake) _session.WakeFlusher();
    }

    /// <summary>
    /// The connection is gone (QUIT, failover, the server closed it): its tracking state went with it, so the client
    /// is closed once it has what was relayed, and its library reconnects (and tracks again) as after a server restart.
    /// </summary>
    public void OnLost(PinnedConnection from, string error)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(from, _conn) || _ended) return;
            _ended = true;
            _conn = null;
            _relay.Complete();
            _reset?.TrySetResult();
        }
        _session.CloseAfterReplies();
    }

    // ---------------------------------------------------------------- the client's side

    public void FlushSends()
    {
        PinnedConnection? conn;
        lock (_gate) conn = _conn;
        conn?.Flush();
    }

    public void OnClientClosed()
    {
        PinnedConnection? conn;
        lock (_gate)
        {
            if (_ended) return;
            _ended = true;
            conn = _conn;
            _conn = null;
        }
        if (conn is null) return;
        conn.Detach();
        conn.Kill("client left a connection it had whole");
    }

    public (bool InMulti, int Queued, int Channels, int Patterns, int ShardChannels, bool Blocked) Describe() => default;

    public (ServerEndpoint Server, long ServerClientId)? MarkForUnblock()
    {
        var conn = Volatile.Read(ref _conn);
        if (conn is null || conn.IsDead || conn.ServerClientId == 0) return null;
        return (conn.Server, conn.ServerClientId);
    }

    public long? RedirectTargetOn(ServerEndpoint server)
    {
        var conn = Volatile.Read(ref _conn);
        if (conn is null || conn.IsDead || !ReferenceEquals(conn.Server, server) || conn.ServerClientId == 0) return null;
        return conn.ServerClientId;
    }
}
