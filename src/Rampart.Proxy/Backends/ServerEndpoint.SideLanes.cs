namespace Rampart.Proxy.Backends;

/// <summary>
/// The side lanes of a server, beside its shared connections: what keeps one client's busy script or paused write
/// from holding up the others. Redis stops reading a connection while a command from it is busy (a long script, a
/// write held by CLIENT PAUSE WRITE); on a shared connection every client behind that command would wait with it, where
/// directly each would be answered at once (<c>-BUSY</c>, or its read served). Both lanes have one connection per
/// event loop and protocol, made on first use.
/// <list type="bullet">
/// <item>The control lane carries only the commands that end such a call (SCRIPT KILL, FUNCTION KILL, SHUTDOWN, CLIENT
/// UNPAUSE, and FUNCTION STATS): nothing that could be held itself, so they always reach the server.</item>
/// <item>The detour lane carries the requests of clients whose shared connection is held, and writes while a pause
/// sent through Rampart lasts (so a paused write holds the detour lane, never the shared one that reads use).</item>
/// </list>
/// </summary>
internal sealed partial class ServerEndpoint
{
    // Made on first use (SideLane); read with Volatile.Read.
    private ServerConnection[]? _controlConnections;
    private ServerConnection[]? _detourConnections;
    private ServerConnection[]? _durableConnections;
    // CLIENT PAUSE sent through Rampart: until when (ms on the proxy's TimeProvider; 0 = none known) and whether ALL commands.
    private long _pausedUntil;
    private volatile bool _pausedAll;

    /// <summary>
    /// The shared connection of a client on event loop <paramref name="loop"/> with id <paramref name="clientId"/>:
    /// one of its own loop's, fixed per client and protocol, so its requests stay in order (the client chooses
    /// between it and the detour lane: ClientSession.ConnectionTo).
    /// </summary>
    public ServerConnection SharedConnection(int loop, long clientId, bool resp3)
    {
        var lane = resp3 ? _resp3Connections ?? Resp3Lane() : _connections;
        return lane[loop * _connectionsPerLoop + (int)((ulong)clientId % (ulong)_connectionsPerLoop)];
    }

    /// <summary>The detour lane's connection of an event loop, for a protocol.</summary>
    public ServerConnection DetourConnection(int loop, bool resp3) => SideLane(ref _detourConnections)[loop * 2 + (resp3 ? 1 : 0)];

    /// <summary>
    /// The durable lane's connection of an event loop (pools with <c>min_replicas_ack</c>): the writes, and what their
    /// clients pipeline behind them, so the WAIT sent after each batch of writes never holds up another client's reads.
    /// </summary>
    public ServerConnection DurableConnection(int loop, bool resp3) => SideLane(ref _durableConnections)[loop * 2 + (resp3 ? 1 : 0)];

    /// <summary>The control lane's connection, for a command that ends a busy call (<see cref="Rampart.Protocol.Commands.CommandInfo.RunsBesideBusyCalls"/>).</summary>
    public ServerConnection ControlConnection(int loop, bool resp3) => SideLane(ref _controlConnections)[loop * 2 + (resp3 ? 1 : 0)];

    /// <summary>
    /// True when a CLIENT PAUSE sent through Rampart still lasts and would hold <paramref name="command"/>: every
    /// command under ALL; under WRITE, those Redis 7.0 holds (writes, and the commands that may replicate: scripts,
    /// functions, PUBLISH, PFCOUNT). One field read while no pause is known.
    /// </summary>
    public bool HoldsWhilePaused(Rampart.Protocol.Commands.CommandInfo command)
    {
        long until = Volatile.Read(ref _pausedUntil);
        if (until == 0) return false;
        if (Time.NowMs() >= until)
        {
            Interlocked.CompareExchange(ref _pausedUntil, 0, until);
            return false;
        }
        return _pausedAll || command.MayWaitForWritePause;
    }

    /// <summary>CLIENT PAUSE <paramref name="timeoutMs"/> [WRITE|ALL] is being sent to this server.</summary>
    public void NotePause(long timeoutMs, bool all)
    {
        _pausedAll = all;
        Volatile.Write(ref _pausedUntil, Time.NowMs() + Math.Max(1, timeoutMs));
    }

    /// <summary>CLIENT UNPAUSE is being sent to this server.</summary>
    public void NoteUnpause() => Volatile.Write(ref _pausedUntil, 0);

    private ServerConnection[] SideLane(ref ServerConnection[]? field)
    {
        if (Volatile.Read(ref field) is { } made) return made;
        lock (_laneGate)
        {
            if (field is { } madeMeanwhile) return madeMeanwhile;
            var lane = new ServerConnection[Loops.Count * 2];
            for (int i = 0; i < lane.Length; i++) lane[i] = new ServerConnection(this, Loops[i / 2], _logger, resp3: i % 2 == 1);
            // A server already retired or stopped: its new lane is closed too, so what is queued there fails at once.
            if (_closedReason is { } reason) foreach (var connection in lane) connection.Dispose(reason, $"ERR rampart: {reason}");
            Volatile.Write(ref field, lane);
            return lane;
        }
    }
}
