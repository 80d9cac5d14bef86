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
    // CLIENT PAUSE sent through Rampart: until when (ms on the proxy's TimeProvider; 0 = none known) and whether ALL commands.
    private long _pausedUntil;
    private volatile bool _pausedAll;

    /// <summary>
    /// The connection a client uses for this server: one of its own event loop's, fixed per client and protocol, so
    /// its requests stay in order (a client changing protocol waits for its earlier replies first: CommandDispatcher).
    /// </summary>
    /// <remarks>
    /// A client with nothing in flight goes to the detour lane instead while its shared connection is held
    /// (<see cref="ServerConnection.IsStalled"/>) or when <paramref name="mayBePaused"/> says its command would wait
    /// for a pause (<see cref="HoldsWhilePaused"/>). There Redis answers it as it would directly (often <c>-BUSY</c>).
    /// It stays on the detour lane until its replies are all in, so its requests never run out of order: the lane is
    /// chosen only when nothing of the client's is in flight anywhere.
    /// </remarks>
    public ServerConnection ConnectionFor(Clients.ClientSession client, bool mayBePaused = false)
    {
        var shared = SharedConnectionFor(client);
        if (!client.HasPendingReplies) client.OnDetour = mayBePaused || shared.IsStalled();
        return client.OnDetour ? SideLane(ref _detourConnections)[SideIndex(client)] : shared;
    }

    /// <summary>True when the client's shared connection to this server is held by the server (see ConnectionFor).</summary>
    public bool IsStalledFor(Clients.ClientSession client) => SharedConnectionFor(client).IsStalled();

    /// <summary>The control lane's connection for a command that ends a busy call (<see cref="Rampart.Protocol.Commands.CommandInfo.RunsBesideBusyCalls"/>).</summary>
    public ServerConnection ControlConnectionFor(Clients.ClientSession client) => SideLane(ref _controlConnections)[SideIndex(client)];

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

    private static int SideIndex(Clients.ClientSession client) => client.Loop.Index * 2 + (client.Resp3 ? 1 : 0);

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
