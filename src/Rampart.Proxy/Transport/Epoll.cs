using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Rampart.Proxy.Transport;

/// <summary>
/// The Linux calls the event loop needs: epoll and an eventfd to wake it. <c>struct epoll_event</c> is packed to
/// 12 bytes on x86-64 and 16 bytes elsewhere, so events are read and written through <see cref="Stride"/> and
/// <see cref="DataOffset"/> instead of a managed struct.
/// </summary>
internal static unsafe partial class Epoll
{
    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Err = 0x008;
    public const uint Hup = 0x010;
    public const uint RdHup = 0x2000;
    public const uint EdgeTriggered = 1u << 31;

    private const int CtlAdd = 1;
    private const int CtlDel = 2;
    private const int CloseOnExec = 0x80000;
    private const int NonBlocking = 0x800;
    private const int Interrupted = 4; // EINTR
    private const int NotImplemented = 38; // ENOSYS

    public static readonly int Stride = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    public static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    /// <summary>A descriptor this class opened; closed once, when no call is using it any more.</summary>
    public sealed class Handle() : SafeHandleMinusOneIsInvalid(ownsHandle: true)
    {
        public Handle(int fd) : this() => SetHandle(fd);
        protected override bool ReleaseHandle() => close((int)handle) == 0;
    }

    public static Handle Create()
    {
        var fd = new Handle(epoll_create1(CloseOnExec));
        if (fd.IsInvalid) throw new IOException($"epoll_create1 failed (errno {Marshal.GetLastPInvokeError()})");
        return fd;
    }

    public static Handle CreateWakeFd()
    {
        var fd = new Handle(eventfd(0, CloseOnExec | NonBlocking));
        if (fd.IsInvalid) throw new IOException($"eventfd failed (errno {Marshal.GetLastPInvokeError()})");
        return fd;
    }

    /// <summary>Adds <paramref name="fd"/> with <paramref name="events"/>, tagged with <paramref name="token"/>.</summary>
    public static void Add(Handle epoll, int fd, uint events, ulong token)
    {
        byte* ev = stackalloc byte[16];
        *(uint*)ev = events;
        *(ulong*)(ev + DataOffset) = token;
        if (epoll_ctl(epoll, CtlAdd, fd, ev) != 0)
            throw new IOException($"epoll_ctl ADD failed (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Stops watching <paramref name="fd"/>, which stays open (a listening socket handed to another process).</summary>
    public static void Remove(Handle epoll, SafeHandle fd)
    {
        byte* ev = stackalloc byte[16]; // ignored by DEL, but kernels before 2.6.9 wanted one
        _ = epoll_ctl(epoll, CtlDel, fd, ev); // fails only when it was never added or is closed: nothing to remove
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> (-1: until an event) and returns how many events were written to
    /// <paramref name="events"/> (0 when interrupted).
    /// </summary>
    public static int Wait(Handle epoll, byte* events, int max, int timeoutMs)
    {
        int n = epoll_wait(epoll, events, max, timeoutMs);
        if (n >= 0) return n;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == Interrupted) return 0;
        throw new IOException($"epoll_wait failed (errno {errno})");
    }

    /// <summary>
    /// As <see cref="Wait"/>, for at most <paramref name="timeoutNs"/> nanoseconds (epoll_pwait2, Linux 5.11): a hold of
    /// a fraction of a millisecond (<see cref="HeldWrites"/>) needs a finer timeout than epoll_wait's milliseconds.
    /// Older kernels and C libraries wait a whole millisecond instead.
    /// </summary>
    public static int WaitNanoseconds(Handle epoll, byte* events, int max, long timeoutNs)
    {
        if (timeoutNs <= 0) return Wait(epoll, events, max, 0);
        if (s_pwait2Missing) return Wait(epoll, events, max, (int)Math.Min(int.MaxValue, (timeoutNs + 999_999) / 1_000_000));
        long* timeout = stackalloc long[2];
        timeout[0] = timeoutNs / 1_000_000_000;
        timeout[1] = timeoutNs % 1_000_000_000;
        int n;
        try
        {
            n = epoll_pwait2(epoll, events, max, timeout, null);
        }
        catch (EntryPointNotFoundException)
        {
            s_pwait2Missing = true;
            return WaitNanoseconds(epoll, events, max, timeoutNs);
        }
        if (n >= 0) return n;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == Interrupted) return 0;
        if (errno == NotImplemented)
        {
            s_pwait2Missing = true;
            return WaitNanoseconds(epoll, events, max, timeoutNs);
        }
        throw new IOException($"epoll_pwait2 failed (errno {errno})");
    }

    private static bool s_pwait2Missing;

    public static uint EventsAt(byte* events, int index) => *(uint*)(events + index * Stride);
    public static ulong TokenAt(byte* events, int index) => *(ulong*)(events + index * Stride + DataOffset);

    public static void Signal(Handle wakeFd)
    {
        ulong one = 1;
        try
        {
            _ = write(wakeFd, &one, 8); // EAGAIN only when the counter is full: the loop is woken anyway
        }
        catch (ObjectDisposedException)
        {
            // The loop has stopped: nothing to wake.
        }
    }

    public static void Drain(Handle wakeFd)
    {
        ulong value;
        _ = read(wakeFd, &value, 8);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(Handle epoll, int op, int fd, byte* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(Handle epoll, int op, SafeHandle fd, byte* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_wait(Handle epoll, byte* events, int max, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_pwait2(Handle epoll, byte* events, int max, long* timeout, void* sigmask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initial, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(Handle fd, void* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(Handle fd, void* buffer, nint count);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
