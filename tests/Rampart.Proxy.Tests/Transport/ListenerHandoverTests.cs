using System.Net;
using System.Net.Sockets;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Tests.Transport;

/// <summary>
/// The descriptor passing of a takeover, within one process (the kernel does the same across processes): a received
/// descriptor is the same listening socket, and releasing one side with CloseShared while it has an accept pending
/// leaves the other side listening.
/// </summary>
public sealed class ListenerHandoverTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-handover-").FullName;

    [Fact]
    public void ReceivedDescriptor_IsTheSameListener_AndCloseSharedLeavesItListening()
    {
        using var original = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        original.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        original.Listen(16);
        int port = ((IPEndPoint)original.LocalEndPoint!).Port;

        var (sender, receiver, listener) = Channel();
        using (listener)
        using (sender)
        using (receiver)
        {
            ListenerHandover.Send(sender, "LISTEN 127.0.0.1:" + port, (int)original.SafeHandle.DangerousGetHandle());
            ListenerHandover.Send(sender, "END");
            var first = ListenerHandover.Receive(receiver);
            Assert.NotNull(first);
            Assert.Equal("LISTEN 127.0.0.1:" + port, first.Value.Text);
            Assert.True(first.Value.Fd >= 0);
            Assert.NotEqual((int)original.SafeHandle.DangerousGetHandle(), first.Value.Fd);
            Assert.Equal(("END", -1), ListenerHandover.Receive(receiver));

            using var adopted = new Socket(new SafeSocketHandle(first.Value.Fd, ownsHandle: true));
            Assert.Equal(port, ((IPEndPoint)adopted.LocalEndPoint!).Port);

            // The original side has an accept pending, as a pool listener does, when it lets go. (.NET wakes such
            // a call by disconnecting the socket when it closes it, which stops the listener for both processes.)
            var pending = original.AcceptAsync();
            ListenerHandover.CloseShared(original);
            Assert.ThrowsAny<Exception>(() => pending.GetAwaiter().GetResult());
            adopted.Blocking = false;
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(IPAddress.Loopback, port);
            using var accepted = AcceptWithin(adopted, TimeSpan.FromSeconds(5));
            client.Send("ping"u8);
            var buffer = new byte[4];
            accepted.Blocking = true;
            accepted.ReceiveTimeout = 5000;
            Assert.Equal(4, accepted.Receive(buffer));

            // Nothing more comes: the wait ends at the channel's receive timeout.
            receiver.ReceiveTimeout = 300;
            var timedOut = Assert.Throws<SocketException>(() => ListenerHandover.Receive(receiver));
            Assert.Equal(SocketError.TimedOut, timedOut.SocketErrorCode);
            sender.Shutdown(SocketShutdown.Both); // the peer goes away
            Assert.Null(ListenerHandover.Receive(receiver)); // the peer closed
        }
    }

    private static Socket AcceptWithin(Socket listener, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (true)
        {
            try
            {
                return listener.Accept();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock && DateTime.UtcNow < until)
            {
                Thread.Sleep(5);
            }
        }
    }

    private (Socket Sender, Socket Receiver, Socket Listener) Channel()
    {
        string path = Path.Combine(_dir, "control");
        var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var receiver = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        receiver.Connect(new UnixDomainSocketEndPoint(path));
        receiver.ReceiveTimeout = 5000;
        return (listener.Accept(), receiver, listener);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
