using System.Net.Sockets;

namespace Rampart.Proxy.Transport;

/// <summary>
/// Accepts a pool listener's clients on an event loop, with accept4 on the listening descriptor: each client is then
/// only its descriptor and a <see cref="PeerAddress"/>, never a .NET <see cref="Socket"/> (its handle, endpoint and
/// address objects, and the garbage of .NET's accept, were a sixth of an idle connection's cost). The listener parks
/// on its loop as an idle client does (<see cref="LoopSocket.ParkUntilReadable"/>); when it is readable, every waiting
/// connection is accepted, then it parks again. Errors are split as <see cref="AcceptLoop"/> splits them: the
/// listener closed ends accepting; any other failure goes to the listener's handler, which logs it and says how long
/// to wait before accepting again (a pause under resource pressure, so the loop does not spin). Runs on its loop
/// only: one accept pass at a time, either parked, or paused, or accepting.
/// </summary>
internal sealed class LoopAcceptor : IReadableOwner
{
    /// <summary>Takes an accepted client (its descriptor, non-blocking, and its peer): runs on the loop, must not block.</summary>
    public delegate void AdmitClient(Epoll.Handle client, PeerAddress peer);

    /// <summary>Accepts per loop turn at most (Redis takes up to 1,000 per readable event; each costs a few µs here).</summary>
    private const int MaxAcceptsPerTurn = 256;

    private readonly LoopSocket _listener;
    private readonly AdmitClient _admit;
    private readonly Func<SocketException, TimeSpan> _onError;
    private readonly TimeProvider _time;
    private volatile bool _stopped;

    /// <summary>Accepts on <paramref name="listener"/>, which stays its owner's: <see cref="Stop"/> never closes it.</summary>
    public LoopAcceptor(Socket listener, EventLoop loop, AdmitClient admit, Func<SocketException, TimeSpan> onError, TimeProvider time)
    {
        SocketIo.MakeNonBlocking(listener.SafeHandle);
        _listener = new LoopSocket(listener.SafeHandle, loop);
        _admit = admit;
        _onError = onError;
        _time = time;
    }

    /// <summary>Starts watching the listener, and accepts what is queued already (an inherited listener's clients gave no edge).</summary>
    public void Start()
    {
        _listener.Start();
        _listener.Loop.Post(AcceptAll);
    }

    /// <summary>
    /// Stops accepting; the listener stays open with its queue (for a process that takes it over, or its owner's
    /// close). A client accepted at that very moment is still admitted.
    /// </summary>
    public void Stop()
    {
        _stopped = true;
        _listener.Loop.Unregister(_listener);
    }

    void IReadableOwner.OnReadable() => AcceptAll();

    private void AcceptAll()
    {
        while (!_stopped)
        {
            _listener.ForgetReadable();
            for (int accepted = 0; ; accepted++)
            {
                if (accepted == MaxAcceptsPerTurn)
                {
                    // A storm: the rest after this turn's other sockets, so the clients already served on this loop
                    // are not held up behind it.
                    _listener.ContinueNextTurn(this);
                    return;
                }
                Epoll.Handle? client;
                PeerAddress peer;
                SocketError error;
                try
                {
                    client = SocketIo.Accept(_listener.Handle, out peer, out error);
                }
                catch (ObjectDisposedException)
                {
                    return; // the listener closed
                }
                if (client is not null)
                {
                    _admit(client, peer);
                    continue;
                }
                if (error == SocketError.WouldBlock) break;
                if (error == SocketError.OperationAborted) return; // closed or shut down under us
                var pause = _onError(new SocketException((int)error));
                if (pause > TimeSpan.Zero)
                {
                    _ = ResumeAfterAsync(pause);
                    return;
                }
            }
            if (_listener.ParkUntilReadable(this)) return;
        }
    }

    private async Task ResumeAfterAsync(TimeSpan pause)
    {
        await Task.Delay(pause, _time);
        // Connections that came meanwhile left their readiness: this pass finds them.
        if (!_stopped) _listener.Loop.Post(AcceptAll);
    }
}
