using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Tests.Transport;

/// <summary>
/// The event loop's sockets on their own, over real loopback TCP: what the proxy relies on when a write does not fit
/// the socket buffer, a read buffer fills, a peer or the proxy closes, or a closed socket's slot is taken by another.
/// </summary>
public sealed class LoopSocketTests : IDisposable
{
    private readonly EventLoop _loop = new(NullLogger.Instance);
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public LoopSocketTests()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _loop.Dispose();
    }

    private async Task<(LoopSocket Loop, Socket Peer)> ConnectPairAsync()
    {
        var connection = new LoopSocket(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp), _loop);
        var accepting = _listener.AcceptAsync();
        await connection.ConnectAsync(_listener.LocalEndPoint!, CancellationToken.None);
        return (connection, await accepting);
    }

    private static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public async Task ALargeWrite_ToAPeerThatReadsSlowly_ArrivesWhole()
    {
        var (connection, peer) = await ConnectPairAsync();
        using var _ = peer;
        var data = Pattern(8 * 1024 * 1024, 1); // far more than the socket buffers: the write must wait for room
        var sending = connection.SendAsync(data).AsTask();
        Assert.False(sending.IsCompleted);
        var received = new MemoryStream();
        var chunk = new byte[7000];
        while (received.Length < data.Length)
        {
            int read = await peer.ReceiveAsync(chunk, SocketFlags.None);
            Assert.NotEqual(0, read);
            received.Write(chunk, 0, read);
            if (received.Length % 10 == 0) await Task.Delay(1);
        }
        await sending.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(data, received.ToArray());
        connection.Close();
    }

    [Fact]
    public async Task Reads_ThatFillTheirBuffer_GetTheRestWithoutANewEvent()
    {
        var (connection, peer) = await ConnectPairAsync();
        using var _ = peer;
        var data = Pattern(300_000, 2);
        await peer.SendAsync(data, SocketFlags.None);
        // Reads smaller than what arrived: after a full read the data left is read at once (no new edge comes for it).
        var received = new MemoryStream();
        var buffer = new byte[1000];
        while (received.Length < data.Length)
        {
            int read = await connection.ReceiveAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotEqual(0, read);
            received.Write(buffer, 0, read);
        }
        Assert.Equal(data, received.ToArray());
        connection.Close();
    }

    [Fact]
    public async Task APeerThatCloses_EndsAPendingRead_WithZero()
    {
        var (connection, peer) = await ConnectPairAsync();
        var reading = connection.ReceiveAsync(new byte[100]).AsTask();
        await Task.Delay(50);
        Assert.False(reading.IsCompleted);
        peer.Dispose();
        Assert.Equal(0, await reading.WaitAsync(TimeSpan.FromSeconds(10)));
        connection.Close();
    }

    [Fact]
    public async Task APeerThatSendsAndClosesAtOnce_GivesTheDataThenZero_ThoughEpollSaysItOnce()
    {
        // Data and the peer's FIN arrive before anything reads: one edge says both. A read that does not fill its buffer
        // has emptied the socket, but the end of the stream is still to be read, and no new edge will come for it. A
        // loaded event loop meets this whenever Redis answers and drops a connection (CLIENT KILL) in one go.
        var (connection, peer) = await ConnectPairAsync();
        peer.Send("+OK\r\n"u8);
        peer.Dispose();
        await Task.Delay(100); // the loop has taken the one event by now, with no read waiting
        var buffer = new byte[100];
        Assert.Equal(5, await connection.ReceiveAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, await connection.ReceiveAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        connection.Close();
    }

    [Fact]
    public async Task APeerThatSendsAndCloses_WhileAReadWaits_GivesTheDataThenZero()
    {
        var (connection, peer) = await ConnectPairAsync();
        var buffer = new byte[100];
        var reading = connection.ReceiveAsync(buffer).AsTask();
        peer.Send("+OK\r\n"u8);
        peer.Dispose();
        Assert.Equal(5, await reading.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, await connection.ReceiveAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        connection.Close();
    }

    [Fact]
    public async Task Closing_FailsAPendingRead_InsteadOfLeavingItWaiting()
    {
        var (connection, peer) = await ConnectPairAsync();
        using var _ = peer;
        var reading = connection.ReceiveAsync(new byte[100]).AsTask();
        connection.Close();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => reading.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(connection.IsClosed);
    }

    [Fact]
    public async Task Connecting_ToAPortNobodyListensOn_IsRefused()
    {
        int port = FreePort.Next();
        var connection = new LoopSocket(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp), _loop);
        var error = await Assert.ThrowsAsync<SocketException>(
            () => connection.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), CancellationToken.None).AsTask());
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
        connection.Close();
    }

    [Fact]
    public async Task SocketsThatReuseClosedSlots_EachGetOnlyTheirOwnBytes()
    {
        // Rounds of open, exchange unique bytes, close: later sockets take the closed ones' slots (and often their
        // descriptor numbers), and an event for a closed socket must never reach the one that replaced it.
        for (int round = 0; round < 20; round++)
        {
            var pairs = new List<(LoopSocket Loop, Socket Peer)>();
            for (int i = 0; i < 25; i++) pairs.Add(await ConnectPairAsync());
            var echoes = pairs.Select(async (pair, i) =>
            {
                var payload = Pattern(5000, round * 100 + i);
                await pair.Loop.SendAsync(payload);
                var back = new byte[payload.Length];
                int got = 0;
                while (got < back.Length)
                {
                    int read = await pair.Peer.ReceiveAsync(back.AsMemory(got), SocketFlags.None);
                    Assert.NotEqual(0, read);
                    got += read;
                }
                await pair.Peer.SendAsync(back, SocketFlags.None);
                var mine = new byte[payload.Length];
                got = 0;
                while (got < mine.Length)
                {
                    int read = await pair.Loop.ReceiveAsync(mine.AsMemory(got));
                    Assert.NotEqual(0, read);
                    got += read;
                }
                Assert.Equal(payload, mine);
            });
            await Task.WhenAll(echoes).WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var (loop, peer) in pairs)
            {
                loop.Close();
                peer.Dispose();
            }
        }
    }

    /// <summary>A parked owner: counts its callbacks and signals each.</summary>
    private sealed class ParkedOwner : IReadableOwner
    {
        private readonly SemaphoreSlim _called = new(0);
        public void OnReadable() => _called.Release();
        public Task<bool> CalledAsync() => _called.WaitAsync(TimeSpan.FromSeconds(10));
        public bool CalledAgainWithin(TimeSpan wait) => _called.Wait(wait);
    }

    private async Task<(LoopSocket Loop, Socket Peer)> AcceptPairAsync()
    {
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(_listener.LocalEndPoint!);
        var accepted = new LoopSocket(await _listener.AcceptAsync(), _loop);
        accepted.Start();
        return (accepted, peer);
    }

    [Fact]
    public async Task AParkedSocket_CallsItsOwnerOnceWhenBytesCome_AndTheReadThenFindsThemAtOnce()
    {
        var (socket, peer) = await AcceptPairAsync();
        using var _ = peer;
        var owner = new ParkedOwner();
        Assert.True(socket.ParkUntilReadable(owner));
        Assert.True(socket.IsParked);
        Assert.False(owner.CalledAgainWithin(TimeSpan.FromMilliseconds(100))); // nothing sent: no call

        peer.Send("*1\r\n$4\r\nPING\r\n"u8);
        Assert.True(await owner.CalledAsync());
        Assert.False(socket.IsParked);
        var buffer = new byte[64];
        var read = socket.ReceiveAsync(buffer);
        Assert.True(read.IsCompleted); // the readiness the callback reported is kept for this read
        Assert.Equal(14, await read);
        Assert.False(owner.CalledAgainWithin(TimeSpan.FromMilliseconds(100))); // once per park
        socket.Close();
    }

    [Fact]
    public async Task AParkedSocket_TellsItsOwnerOfAHangUp_AndOfAClose()
    {
        var (hungUp, peer) = await AcceptPairAsync();
        var owner = new ParkedOwner();
        Assert.True(hungUp.ParkUntilReadable(owner));
        peer.Dispose();
        Assert.True(await owner.CalledAsync());
        Assert.Equal(0, await hungUp.ReceiveAsync(new byte[16])); // the end of the stream
        Assert.False(hungUp.ParkUntilReadable(owner)); // after a hang-up every read goes to the socket at once
        hungUp.Close();

        var (closed, other) = await AcceptPairAsync();
        using var __ = other;
        var closedOwner = new ParkedOwner();
        Assert.True(closed.ParkUntilReadable(closedOwner));
        closed.Close();
        Assert.True(await closedOwner.CalledAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await closed.ReceiveAsync(new byte[16]));
    }

    [Theory]
    [InlineData(11, SocketError.WouldBlock)]
    [InlineData(104, SocketError.ConnectionReset)]
    [InlineData(32, SocketError.Shutdown)]
    [InlineData(107, SocketError.NotConnected)]
    [InlineData(22, SocketError.SocketError)]
    public void SocketIo_NamesErrnoAsDotNetDoes(int errno, SocketError expected) => Assert.Equal(expected, SocketIo.ErrorOf(errno));
}
