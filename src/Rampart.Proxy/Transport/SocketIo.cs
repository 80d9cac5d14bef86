using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Rampart.Proxy.Transport;

/// <summary>
/// Non-blocking recv and send on a socket's descriptor, for <see cref="LoopSocket"/>. .NET's own Socket.Receive and
/// Send need the socket in its non-blocking mode, and <c>Socket.Blocking = false</c> gives every socket a
/// SocketAsyncContext with its operation queues and locks (224 bytes), which a socket on Rampart's event loop never
/// uses: per idle client, a sixth of what it holds. So the loop sets O_NONBLOCK itself and calls the two syscalls,
/// with the same guard .NET has: the handle is referenced for the call, so a descriptor closed meanwhile is an
/// <see cref="ObjectDisposedException"/>, never a call on a number the process has since reused.
/// </summary>
internal static unsafe partial class SocketIo
{
    private const int EINTR = 4, EAGAIN = 11, EPIPE = 32, ECONNABORTED = 103, ECONNRESET = 104, ENOTCONN = 107, ETIMEDOUT = 110;
    private const int F_GETFL = 3, F_SETFL = 4, O_NONBLOCK = 0x800;
    private const int MSG_NOSIGNAL = 0x4000;

    /// <summary>Puts the descriptor in non-blocking mode without telling .NET (which would build its async context).</summary>
    public static void MakeNonBlocking(SafeHandle socket)
    {
        int flags = fcntl(socket, F_GETFL, 0);
        if (flags < 0 || fcntl(socket, F_SETFL, flags | O_NONBLOCK) < 0)
            throw new SocketException((int)ErrorOf(Marshal.GetLastPInvokeError()));
    }

    /// <summary>recv(2): the bytes read (0 at the end of the stream), or 0 with the error (WouldBlock when empty).</summary>
    public static int Receive(SafeHandle socket, Span<byte> buffer, out SocketError error)
    {
        fixed (byte* bytes = buffer)
        {
            nint read;
            do read = recv(socket, bytes, buffer.Length, 0);
            while (Interrupted(read));
            return Result(read, out error);
        }
    }

    /// <summary>send(2) without SIGPIPE: the bytes the socket took, or 0 with the error (WouldBlock when full).</summary>
    public static int Send(SafeHandle socket, ReadOnlySpan<byte> data, out SocketError error)
    {
        fixed (byte* bytes = data)
        {
            nint sent;
            do sent = send(socket, bytes, data.Length, MSG_NOSIGNAL);
            while (Interrupted(sent));
            return Result(sent, out error);
        }
    }

    private static bool Interrupted(nint result) => result < 0 && Marshal.GetLastPInvokeError() == EINTR;

    private static int Result(nint result, out SocketError error)
    {
        error = result >= 0 ? SocketError.Success : ErrorOf(Marshal.GetLastPInvokeError());
        return result >= 0 ? (int)result : 0;
    }

    /// <summary>The errors a connected stream socket meets, as .NET names them; any other is a plain SocketError.</summary>
    internal static SocketError ErrorOf(int errno) => errno switch
    {
        EAGAIN => SocketError.WouldBlock,
        ECONNRESET => SocketError.ConnectionReset,
        EPIPE => SocketError.Shutdown,
        ECONNABORTED => SocketError.ConnectionAborted,
        ENOTCONN => SocketError.NotConnected,
        ETIMEDOUT => SocketError.TimedOut,
        _ => SocketError.SocketError,
    };

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(SafeHandle socket, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(SafeHandle socket, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(SafeHandle socket, int command, int argument);
}
