using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy;

/// <summary>
/// Zero-downtime upgrade (<c>rampart serve --takeover</c>, docs/operations.md): the old process gives its listening
/// sockets to the new one (<see cref="ListenerHandover"/>), stops accepting, and drains its clients at request
/// boundaries. Nothing here is on the request path.
/// </summary>
public sealed partial class ProxyServer
{
    /// <summary>
    /// How long a draining client may sit idle before it is closed: long enough that a client in a request loop
    /// sends again first (and is closed right behind that reply, at a request boundary), short enough to finish soon.
    /// </summary>
    private const int IdleCloseMs = 500;

    // Listening sockets received from the process taken over, by listen address as configured; taken by CreatePool.
    private readonly Dictionary<string, int> _inherited = [];

    /// <summary>
    /// Before <see cref="StartAsync"/>: listening sockets received from the old process, by listen address
    /// (<see cref="Configuration.ListenAddress.ToString"/>). A pool listening on one of them adopts it instead of binding.
    /// </summary>
    public void Inherit(IReadOnlyDictionary<string, int> listeners)
    {
        foreach (var (listen, fd) in listeners) _inherited[listen] = fd;
    }

    /// <summary>
    /// Closes the inherited sockets no pool took (the new configuration dropped their address) with a plain close(),
    /// which leaves the old process's queue alone (<see cref="ListenerHandover.CloseDescriptor"/>); returns their addresses.
    /// </summary>
    public IReadOnlyList<string> CloseUnusedInherited()
    {
        var closed = _inherited.Keys.ToList();
        foreach (int fd in _inherited.Values) ListenerHandover.CloseDescriptor(fd);
        _inherited.Clear();
        return closed;
    }

    /// <summary>The inherited socket for <paramref name="listen"/>, if the old process had that address.</summary>
    private Socket? TakeInherited(Configuration.ListenAddress listen)
    {
        if (!_inherited.Remove(listen.ToString(), out int fd)) return null;
        return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
    }

    /// <summary>The running pools' listening sockets, by listen address as configured, for the new process.</summary>
    public IReadOnlyList<(string Listen, Socket Socket)> ListenersForHandover() =>
        [.. _pools.SelectMany(p => new[] { p.Listener, p.TlsListener }).OfType<PoolListener>().Select(l => (l.Listen.ToString(), l.Socket))];

    /// <summary>The new process accepts now: stop accepting on every listener, leaving the sockets open for it.</summary>
    public void HandOverListeners()
    {
        foreach (var pool in _pools)
        {
            pool.Listener?.HandOver();
            pool.TlsListener?.HandOver();
        }
    }

    /// <summary>
    /// After <see cref="HandOverListeners"/>: a busy client's connection closes right after the replies to its next
    /// read (<see cref="ClientSession.RequestDrain"/>); one idle for <see cref="IdleCloseMs"/> with nothing in flight
    /// and no connection state (transaction, subscriptions, blocking call: a pin) closes then, so a client with state
    /// closes once that state ends. Returns when no client is left or <paramref name="limit"/> passed (the caller's
    /// <see cref="StopAsync"/> then closes the rest).
    /// </summary>
    public async Task DrainClientsAsync(TimeSpan limit)
    {
        long started = Time.GetTimestamp();
        while (true)
        {
            int left = 0;
            long idleSince = Time.NowMs() - IdleCloseMs; // LastInteraction's clock
            foreach (var pool in _pools)
            {
                foreach (var session in pool.Sessions)
                {
                    left++;
                    // Marked again each turn: a connection accepted in the instant of the handover joins too.
                    session.RequestDrain();
                    if (!session.ClosingAfterReplies && session.Pin is null && !session.HasPendingReplies && session.LastInteraction < idleSince)
                        session.CloseAfterReplies();
                }
            }
            if (left == 0 || Time.GetElapsedTime(started) >= limit)
            {
                LogDrained(left);
                return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), Time);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Takeover drain done: {Left} client connection(s) left to close")]
    private partial void LogDrained(int left);
}
