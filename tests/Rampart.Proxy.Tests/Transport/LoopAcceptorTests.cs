using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Tests.Transport;

/// <summary>
/// The pools' accept on the event loop, over real loopback TCP: a queue longer than one turn's accepts is taken
/// whole over several turns, each client with its own address, and a stopped acceptor leaves the listener open with
/// its queue (what a takeover hands to the new process).
/// </summary>
public sealed class LoopAcceptorTests : IDisposable
{
    private readonly EventLoop _loop = new(NullLogger.Instance);
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly ConcurrentQueue<(Epoll.Handle Client, PeerAddress Peer)> _admitted = new();
    private readonly List<Socket> _clients = [];

    public LoopAcceptorTests()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1024);
    }

    public void Dispose()
    {
        foreach (var client in _clients) client.Dispose();
        while (_admitted.TryDequeue(out var admitted)) admitted.Client.Dispose();
        _listener.Dispose();
        _loop.Dispose();
    }

    private LoopAcceptor Acceptor() =>
        new(_listener, _loop, (client, peer) => _admitted.Enqueue((client, peer)), _ => TimeSpan.Zero, TimeProvider.System);

    private void Connect(int count)
    {
        for (int i = 0; i < count; i++)
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(_listener.LocalEndPoint!); // the kernel completes it: the client waits in the listener's queue
            _clients.Add(client);
        }
    }

    private async Task WaitForAdmittedAsync(int count)
    {
        for (int i = 0; i < 500 && _admitted.Count < count; i++) await Task.Delay(10);
    }

    [Fact]
    public async Task AQueueLongerThanOneTurnsAccepts_IsAcceptedWhole_EachClientWithItsAddress()
    {
        Connect(600); // queued before the acceptor starts: more than one turn takes (256)
        var acceptor = Acceptor();
        acceptor.Start();
        await WaitForAdmittedAsync(600);
        Assert.Equal(600, _admitted.Count);
        var peers = _admitted.Select(a => a.Peer.ToEndPoint()!.ToString()).ToHashSet();
        Assert.Equal(_clients.Select(c => c.LocalEndPoint!.ToString()!).ToHashSet(), peers);

        Connect(10); // and later clients, one edge at a time, as usual
        await WaitForAdmittedAsync(610);
        Assert.Equal(610, _admitted.Count);
        acceptor.Stop();
    }

    [Fact]
    public async Task Stopped_LeavesTheListenerOpen_WithItsQueue()
    {
        var acceptor = Acceptor();
        acceptor.Start();
        Connect(1);
        await WaitForAdmittedAsync(1);
        Assert.Single(_admitted);

        acceptor.Stop();
        Connect(1);
        await Task.Delay(200);
        Assert.Single(_admitted); // not taken by the stopped acceptor...
        using var accepted = await _listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(10)); // ...but still queued
        Assert.Equal(_clients[1].LocalEndPoint, accepted.RemoteEndPoint);
    }
}
