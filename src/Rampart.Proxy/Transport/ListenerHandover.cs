using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Rampart.Proxy.Transport;

/// <summary>
/// Passes a listening socket to another process (zero-downtime upgrade, <c>rampart serve --takeover</c>): one short
/// text message per <c>sendmsg</c>, optionally carrying one file descriptor as <c>SCM_RIGHTS</c> ancillary data, over
/// a unix <c>SOCK_SEQPACKET</c> socket (message boundaries kept, so a descriptor always arrives with its own text).
/// .NET has no API for descriptor passing on Linux (<c>Socket.DuplicateAndClose</c> is Windows only), hence libc.
/// The receiver gets a new descriptor for the same open socket: both processes then share one accept queue, so a
/// connection waiting in it is served by whichever process accepts it, and none is reset by the switch.
/// Linux x64/arm64 layouts (LP64): <c>msghdr</c> is 56 bytes, a one-descriptor control block 24.
/// </summary>
public static unsafe partial class ListenerHandover
{
    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const int MsgCmsgCloexec = 0x40000000;
    private const int MaxMessage = 4096;
    private const int ControlSpace = 24; // CMSG_SPACE(sizeof(int)): 16-byte header + 4, aligned to 8
    private const int ControlLength = 20; // CMSG_LEN(sizeof(int))

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>Sends <paramref name="text"/>, with <paramref name="fd"/> attached when it is not -1 (blocking).</summary>
    public static void Send(Socket channel, string text, int fd = -1)
    {
        byte[] data = Encoding.UTF8.GetBytes(text);
        if (data.Length is 0 or > MaxMessage) throw new ArgumentException("handover message must be 1..4096 bytes", nameof(text));
        byte* control = stackalloc byte[ControlSpace];
        new Span<byte>(control, ControlSpace).Clear();
        fixed (byte* bytes = data)
        {
            var iov = new IoVec { Base = bytes, Length = (nuint)data.Length };
            var msg = new MsgHdr { Iov = &iov, IovLength = 1 };
            if (fd >= 0)
            {
                *(nuint*)control = ControlLength;
                *(int*)(control + 8) = SolSocket;
                *(int*)(control + 12) = ScmRights;
                *(int*)(control + 16) = fd;
                msg.Control = control;
                msg.ControlLength = ControlSpace;
            }
            nint sent = sendmsg(Fd(channel), &msg, 0);
            if (sent != data.Length) throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>
    /// The next message and the descriptor it carried (-1 if none), or null when the peer closed. Waits up to the
    /// channel's <see cref="Socket.ReceiveTimeout"/> (a <see cref="SocketException"/> TimedOut when it passes): .NET
    /// keeps that timeout itself on Linux rather than in SO_RCVTIMEO, so it is applied here with a poll first.
    /// </summary>
    public static (string Text, int Fd)? Receive(Socket channel)
    {
        int timeoutMs = channel.ReceiveTimeout;
        if (timeoutMs > 0 && !channel.Poll(TimeSpan.FromMilliseconds(timeoutMs), SelectMode.SelectRead))
            throw new SocketException((int)SocketError.TimedOut);
        byte[] data = new byte[MaxMessage];
        byte* control = stackalloc byte[ControlSpace];
        new Span<byte>(control, ControlSpace).Clear();
        fixed (byte* bytes = data)
        {
            var iov = new IoVec { Base = bytes, Length = MaxMessage };
            var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlSpace };
            nint read;
            do read = recvmsg(Fd(channel), &msg, MsgCmsgCloexec);
            while (read < 0 && Marshal.GetLastPInvokeError() == 4); // EINTR
            if (read < 0) throw new SocketException(Marshal.GetLastPInvokeError());
            if (read == 0) return null;
            int fd = -1;
            if (msg.ControlLength >= ControlLength && *(int*)(control + 8) == SolSocket && *(int*)(control + 12) == ScmRights)
                fd = *(int*)(control + 16);
            return (Encoding.UTF8.GetString(data, 0, (int)read), fd);
        }
    }

    /// <summary>
    /// Closes one descriptor with plain <c>close()</c>. Used for a listening socket another process may still hold:
    /// the kernel drops the listener only with its last descriptor, whereas a .NET Socket's close may shut the socket
    /// down (to wake its own blocked calls), which would reset the connections queued for the other process.
    /// </summary>
    public static void CloseDescriptor(int fd)
    {
        if (fd >= 0) _ = close(fd);
    }

    /// <summary>
    /// Closes a .NET socket whose listening socket another process may still hold, without disturbing it there: its
    /// descriptor is first pointed at a fresh unconnected socket (<c>dup2</c>), so whatever the .NET close does
    /// (on Linux it may shut a socket down to wake its own blocked calls) lands on that stand-in. A guard: in the test
    /// (ListenerHandoverTests) a plain .NET close with an accept pending did not disturb the other side either. (Marking the handle invalid instead
    /// makes .NET's close spin for ever waiting for a release that never comes.)
    /// </summary>
    public static void CloseShared(Socket socket)
    {
        var handle = socket.SafeHandle;
        if (!handle.IsInvalid && !handle.IsClosed)
        {
            using var standIn = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            if (dup2(Fd(standIn), Fd(socket)) < 0) throw new SocketException(Marshal.GetLastPInvokeError());
        }
        socket.Dispose();
    }

    private static int Fd(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendmsg(int socket, MsgHdr* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int socket, MsgHdr* message, int flags);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int dup2(int oldFd, int newFd);
}
