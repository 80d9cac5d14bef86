using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Rampart.Proxy.Transport;

/// <summary>
/// accept4, shutdown, TCP_NODELAY and getsockname on descriptors, for the client connections the event loop accepts
/// itself (<see cref="LoopAcceptor"/>). An accepted client is then only its descriptor: .NET's <see cref="Socket"/>
/// with its handle and endpoint objects cost every idle connection about 250 bytes, a sixth of all it held, for
/// calls the loop makes itself.
/// </summary>
internal static unsafe partial class SocketIo
{
    private const int SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    private const int AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10;
    private const int SHUT_RDWR = 2, IPPROTO_TCP = 6, TCP_NODELAY = 1;
    private const int EMFILE = 24, ENFILE = 23, ENOBUFS = 105, ENOMEM = 12;
    private const int SockaddrSize = 128; // sockaddr_storage

    /// <summary>
    /// accept4(2), non-blocking and close-on-exec: the client's descriptor and its peer's address (null for a unix
    /// socket client), or null with the error (WouldBlock when none is waiting).
    /// </summary>
    public static Epoll.Handle? Accept(SafeHandle listener, out PeerAddress peer, out SocketError error)
    {
        byte* address = stackalloc byte[SockaddrSize];
        int length;
        int fd;
        do
        {
            length = SockaddrSize;
            fd = accept4(listener, address, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        }
        while (fd < 0 && Marshal.GetLastPInvokeError() == EINTR);
        if (fd < 0)
        {
            peer = default;
            error = AcceptErrorOf(Marshal.GetLastPInvokeError());
            return null;
        }
        error = SocketError.Success;
        peer = PeerOf(new ReadOnlySpan<byte>(address, length));
        return new Epoll.Handle(fd);
    }

    /// <summary>The address the client connected to (getsockname), null for a unix socket.</summary>
    public static EndPoint? LocalEndPoint(SafeHandle socket)
    {
        byte* address = stackalloc byte[SockaddrSize];
        int length = SockaddrSize;
        if (getsockname(socket, address, &length) != 0) throw new SocketException((int)ErrorOf(Marshal.GetLastPInvokeError()));
        return PeerOf(new ReadOnlySpan<byte>(address, length)).ToEndPoint();
    }

    /// <summary>shutdown(2) of both directions, as Socket.Shutdown before a close: errors (not connected) do not matter.</summary>
    public static void Shutdown(SafeHandle socket)
    {
        try { _ = shutdown(socket, SHUT_RDWR); }
        catch (ObjectDisposedException) { }
    }

    /// <summary>TCP_NODELAY, as Socket.NoDelay = true.</summary>
    public static void SetNoDelay(SafeHandle socket)
    {
        int one = 1;
        _ = setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int));
    }

    private static PeerAddress PeerOf(ReadOnlySpan<byte> address)
    {
        if (address.Length < 2) return default;
        int family = BinaryPrimitives.ReadUInt16LittleEndian(address); // sa_family_t, host order (x86-64, arm64)
        ushort port = address.Length >= 4 ? BinaryPrimitives.ReadUInt16BigEndian(address[2..]) : (ushort)0;
        if (family == AF_INET && address.Length >= 8)
            return PeerAddress.IPv4(BinaryPrimitives.ReadUInt32BigEndian(address[4..]), port);
        if (family == AF_INET6 && address.Length >= 28)
            return PeerAddress.IPv6(BinaryPrimitives.ReadUInt64BigEndian(address[8..]), BinaryPrimitives.ReadUInt64BigEndian(address[16..]),
                port, BinaryPrimitives.ReadUInt32LittleEndian(address[24..]));
        return default; // AF_UNIX: its path is the listener's
    }

    /// <summary>accept4's errors as .NET names them: resource pressure apart, so the acceptor backs off.</summary>
    private static SocketError AcceptErrorOf(int errno) => errno switch
    {
        EMFILE or ENFILE => SocketError.TooManyOpenSockets,
        ENOBUFS or ENOMEM => SocketError.NoBufferSpaceAvailable,
        _ => ErrorOf(errno) is var known && known != SocketError.SocketError ? known : ListenerErrorOf(errno),
    };

    // EBADF, EINVAL (not listening, shut down), ENOTSOCK: the listener is gone.
    private static SocketError ListenerErrorOf(int errno) => errno is 9 or 22 or 88 ? SocketError.OperationAborted : SocketError.SocketError;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int accept4(SafeHandle socket, byte* address, int* length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getsockname(SafeHandle socket, byte* address, int* length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int shutdown(SafeHandle socket, int how);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(SafeHandle socket, int level, int name, void* value, int length);
}
