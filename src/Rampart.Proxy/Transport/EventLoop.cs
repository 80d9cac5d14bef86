using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Rampart.Proxy.Transport;

/// <summary>Work that runs once at the end of the event loop's turn (a server connection's batched write).</summary>
internal interface ITurnWork
{
    void OnTurnEnd();
}

/// <summary>
/// One of Rampart's event loops (<see cref="EventLoopGroup"/>; one by default, as twemproxy has one): a thread in
/// <c>epoll_wait</c> that completes each ready socket's pending read or write on the spot (the continuation runs
/// here, inline), then, at the end of the turn, runs the writes the turn queued: the server writes, then the client
/// writes of the replies the turn's server reads completed. Every client read in a turn has then queued its requests
/// before the server write, so they leave in one write, and every server read has completed its replies before a
/// client's write, so a pipeline answered by several servers in one turn leaves in one write too; with no timer and no
/// wake-up syscalls (System.Net.Sockets' engine has no end-of-turn hook). Client connections, the pools' listeners
/// (<see cref="LoopAcceptor"/>) and server connections, shared and dedicated, run on the loops; Sentinel and admin
/// connections and the stats port stay on .NET's engine: they are few and not on the request path.
/// </summary>
internal sealed unsafe partial class EventLoop : IDisposable
{
    /// <summary>Events taken per turn, as twemproxy's default (nevent 1024): with more clients ready than this, their
    /// requests would leave in two server writes instead of one.</summary>
    private const int MaxEvents = 1024;
    private const ulong WakeToken = ulong.MaxValue;

    private readonly ILogger _logger;
    // Descriptors as safe handles: another thread may still wake or register while the loop shuts down, and must
    // never write to a descriptor number the process has since reused.
    private readonly Epoll.Handle _epoll;
    private readonly Epoll.Handle _wakeFd;
    private readonly int _threadId;

    private readonly Lock _slotsLock = new();
    private LoopSocket?[] _slots = new LoopSocket?[64];
    private readonly Stack<int> _freeSlots = new();
    private int _usedSlots;
    private uint _generation;

    // Turn-end work queued on the loop thread itself (no synchronisation), and from other threads (with a wake-up).
    private readonly List<ITurnWork> _due = [];
    // Client writes of replies the turn completed (loop thread only): after the server writes, see AfterTurnWrites.
    private readonly List<ITurnWork> _replyWrites = [];
    private readonly ConcurrentQueue<ITurnWork> _dueFromElsewhere = new();
    private readonly ConcurrentQueue<Action> _posted = new();
    // Sockets whose last read filled its buffer: read again next turn, after the others (loop thread only).
    private List<LoopSocket> _readAgain = [];
    private List<LoopSocket> _readingAgain = [];
    private readonly HeldWrites _held = new();
    private int _wakeRequested;
    private volatile bool _disposed;

    public EventLoop(ILogger logger, int index = 0)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("Rampart's event loop uses epoll: it runs on Linux");
        _logger = logger;
        Index = index;
        _epoll = Epoll.Create();
        _wakeFd = Epoll.CreateWakeFd();
        Epoll.Add(_epoll, (int)_wakeFd.DangerousGetHandle(), Epoll.In | Epoll.EdgeTriggered, WakeToken);
        var thread = new Thread(Run) { IsBackground = true, Name = $"rampart-loop-{index}" };
        _threadId = thread.ManagedThreadId;
        thread.Start();
    }

    /// <summary>This loop's place in its <see cref="EventLoopGroup"/>: which of each server's shared connections its clients use.</summary>
    public int Index { get; }

    public bool IsLoopThread => Environment.CurrentManagedThreadId == _threadId;

    /// <summary>Runs <paramref name="work"/> at the end of the current turn (or of the next, from another thread).</summary>
    public void AtTurnEnd(ITurnWork work)
    {
        if (IsLoopThread)
        {
            _due.Add(work);
            return;
        }
        _dueFromElsewhere.Enqueue(work);
        Wake();
    }

    /// <summary>
    /// On the loop thread: runs <paramref name="work"/> at the end of the turn, after the work of <see cref="AtTurnEnd"/>
    /// (the server writes). Replies go to clients once the servers have the turn's requests: the servers start on them
    /// while the clients are written to, instead of after.
    /// </summary>
    public void AfterTurnWrites(ITurnWork work)
    {
        Debug.Assert(IsLoopThread);
        _replyWrites.Add(work);
    }

    /// <summary>
    /// On the loop thread: <paramref name="write"/> holds its client's completed replies while the rest of that
    /// client's pipeline is still with the servers, and is told (<see cref="IHeldWrite.OnHoldExpired"/>) once
    /// <see cref="HeldWrites.HoldMicroseconds"/> have passed, should it still be holding them then. A pipeline spread over
    /// several servers then leaves in one write instead of one per server read: one send, and one wake-up of the client,
    /// instead of several, as Redis writes all the replies of what it read from a client in one go.
    /// </summary>
    public void HoldWrite(IHeldWrite write)
    {
        Debug.Assert(IsLoopThread);
        _held.Add(write);
    }

    /// <summary>Runs <paramref name="action"/> on the loop thread at the end of a turn (rare paths: closing sockets).</summary>
    public void Post(Action action)
    {
        _posted.Enqueue(action);
        if (!IsLoopThread) Wake();
    }

    /// <summary>
    /// A read on the loop thread filled its buffer: the socket is read again at the next turn, after every other ready
    /// socket and the turn's writes, as Redis reads one buffer per client per turn. One client's flood thus never
    /// holds up the others, nor the server writes their requests wait for. False off the loop thread.
    /// </summary>
    internal bool ReadAgainNextTurn(LoopSocket socket)
    {
        if (!IsLoopThread) return false;
        _readAgain.Add(socket);
        return true;
    }

    private void Wake()
    {
        if (Interlocked.CompareExchange(ref _wakeRequested, 1, 0) == 0) Epoll.Signal(_wakeFd);
    }

    /// <summary>Watches <paramref name="socket"/> for reads and writes (edge-triggered) until it is released.</summary>
    internal void Register(LoopSocket socket)
    {
        ulong token;
        lock (_slotsLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _usedSlots++;
            if (slot == _slots.Length)
            {
                var grown = new LoopSocket?[_slots.Length * 2];
                _slots.CopyTo(grown, 0);
                Volatile.Write(ref _slots, grown);
            }
            // The generation tells a stale event of a closed socket from one of the socket that took its slot.
            token = (ulong)++_generation << 32 | (uint)slot;
            socket.Token = token;
            Volatile.Write(ref _slots[slot], socket);
        }
        Epoll.Add(_epoll, (int)socket.Handle.DangerousGetHandle(), Epoll.In | Epoll.Out | Epoll.RdHup | Epoll.EdgeTriggered, token);
    }

    /// <summary>Forgets a socket about to be closed (closing its descriptor removes it from epoll).</summary>
    internal void Release(LoopSocket socket)
    {
        lock (_slotsLock)
        {
            int slot = (int)(uint)socket.Token;
            if (!ReferenceEquals(_slots[slot], socket)) return;
            Volatile.Write(ref _slots[slot], null);
            _freeSlots.Push(slot);
        }
    }

    /// <summary>Stops watching a socket that stays open (a listener handed over): released, and removed from epoll.</summary>
    internal void Unregister(LoopSocket socket)
    {
        Release(socket);
        try { Epoll.Remove(_epoll, socket.Handle); }
        catch (ObjectDisposedException) { } // the socket, or this loop, closed: epoll forgot it already
    }

    private void Run()
    {
        byte* events = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)(MaxEvents * Epoll.Stride));
        try
        {
            while (!_disposed)
            {
                // With sockets to read again, only look for news; they are this turn's after the events. With writes
                // held, wait no longer than the first hold lasts.
                long timeoutNs = _readAgain.Count > 0 ? 0 : _held.NanosecondsToNext();
                int count = timeoutNs < 0 ? Epoll.Wait(_epoll, events, MaxEvents, -1) : Epoll.WaitNanoseconds(_epoll, events, MaxEvents, timeoutNs);
                (_readingAgain, _readAgain) = (_readAgain, _readingAgain);
                for (int i = 0; i < count; i++)
                {
                    ulong token = Epoll.TokenAt(events, i);
                    if (token == WakeToken)
                    {
                        Epoll.Drain(_wakeFd);
                        Volatile.Write(ref _wakeRequested, 0); // before the queues are drained below
                        continue;
                    }
                    var slots = Volatile.Read(ref _slots);
                    var socket = Volatile.Read(ref slots[(int)(uint)token]);
                    if (socket is null || socket.Token != token) continue; // closed since the event was fetched
                    Dispatch(socket, Epoll.EventsAt(events, i));
                }
                foreach (var socket in _readingAgain)
                    if (!socket.IsClosed) Dispatch(socket, Epoll.In);
                _readingAgain.Clear();
                ExpireHolds();
                RunTurnEnd();
            }
            RunTurnEnd(); // what was posted before the stop: pending reads of closed sockets fail, their owners finish
        }
        catch (Exception e)
        {
            // Only epoll itself failing gets here (every handler is guarded). A proxy whose loop stopped would keep
            // its ports open and answer nothing: better to exit, so that the supervisor restarts it.
            LogLoopFailed(e);
            Environment.FailFast("Rampart's event loop stopped: " + e.Message, e);
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(events);
            _wakeFd.Dispose();
            _epoll.Dispose();
        }
    }

    private void Dispatch(LoopSocket socket, uint events)
    {
        try
        {
            socket.OnEvents(events);
        }
        catch (Exception e)
        {
            // A continuation's bug must cost that connection, never the loop every connection shares.
            LogEventFault(e);
        }
    }

    private void RunTurnEnd()
    {
        while (true)
        {
            while (_dueFromElsewhere.TryDequeue(out var queued)) _due.Add(queued);
            while (_posted.TryDequeue(out var action)) RunSafely(action);
            if (_due.Count == 0 && _replyWrites.Count == 0) return;
            // Work may queue more work (a writer that reconnects): loop until none is left.
            for (int i = 0; i < _due.Count; i++) RunSafely(_due[i]);
            _due.Clear();
            for (int i = 0; i < _replyWrites.Count; i++) RunSafely(_replyWrites[i]);
            _replyWrites.Clear();
        }
    }

    private void ExpireHolds()
    {
        try { _held.ExpireDue(); }
        catch (Exception e) { LogEventFault(e); }
    }

    private void RunSafely(ITurnWork work)
    {
        try { work.OnTurnEnd(); }
        catch (Exception e) { LogEventFault(e); }
    }

    private void RunSafely(Action action)
    {
        try { action(); }
        catch (Exception e) { LogEventFault(e); }
    }

    public void Dispose()
    {
        _disposed = true;
        Epoll.Signal(_wakeFd);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Event loop: unexpected fault in one connection's handler")]
    private partial void LogEventFault(Exception exception);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Event loop stopped; exiting")]
    private partial void LogLoopFailed(Exception exception);
}
