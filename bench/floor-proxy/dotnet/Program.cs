using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

// floor.c in C# (see ../floor.c): one epoll loop through P/Invoke, level-triggered, one read per readiness, one write
// per turn to the server and to each client with replies, nothing else. It measures how close .NET comes to the C
// floor when it owns its event loop instead of using System.Net.Sockets' engine (which retries every read until
// EAGAIN and has no end-of-turn hook, hence Rampart's FlushTicker). Usage: FloorNet LISTEN_PORT REDIS_PORT.
unsafe
{
    int lport = int.Parse(args[0]), rport = int.Parse(args[1]);
    var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    listener.Bind(new IPEndPoint(IPAddress.Loopback, lport));
    listener.Listen(1024);
    var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    server.Connect(new IPEndPoint(IPAddress.Loopback, rport));
    server.Blocking = false; listener.Blocking = false;
    int ls = (int)listener.Handle, rs = (int)server.Handle;
    int ep = Native.epoll_create1(0);
    Native.Add(ep, ls); Native.Add(ep, rs);
    var clients = new Client?[65536];
    var fifoFd = new int[1 << 20]; var fifoN = new int[1 << 20]; int qh = 0, qt = 0;
    var sout = new Buf(); var sin = new Buf();
    var tmp = new byte[65536];
    var evs = new Native.EpollEvent[256];
    var dirty = new List<Client>();
    fixed (byte* t = tmp)
    fixed (Native.EpollEvent* e = evs)
    while (true)
    {
        int n = Native.epoll_wait(ep, e, 256, -1);
        for (int i = 0; i < n; i++)
        {
            int fd = (int)e[i].Data;
            if (fd == ls)
            {
                var s = listener.Accept(); s.NoDelay = true; s.Blocking = false;
                int cfd = (int)s.Handle; clients[cfd] = new Client { Fd = cfd, Socket = s }; Native.Add(ep, cfd);
            }
            else if (fd == rs)
            {
                nint r = Native.read(rs, t, 65536); if (r <= 0) return 1;
                sin.Put(tmp.AsSpan(0, (int)r)); int at = 0;
                while (at < sin.Len && qh < qt)
                {
                    int len = Resp.Value(sin.Span[at..]); if (len == 0) break;
                    var c = clients[fifoFd[qh]];
                    if (c is not null) { c.Out.Put(sin.Span.Slice(at, len)); if (!c.Dirty) { c.Dirty = true; dirty.Add(c); } }
                    if (--fifoN[qh] == 0) qh++;
                    at += len;
                }
                sin.Consume(at);
                if (qh == qt) { qh = qt = 0; }
            }
            else
            {
                var c = clients[fd]!;
                nint r = Native.read(fd, t, 65536);
                if (r <= 0) { Native.epoll_ctl(ep, 2, fd, null); c.Socket.Dispose(); clients[fd] = null; continue; }
                c.In.Put(tmp.AsSpan(0, (int)r)); int at = 0, reqs = 0;
                while (true) { int len = Resp.Value(c.In.Span[at..]); if (len == 0) break; at += len; reqs++; }
                if (reqs > 0) { sout.Put(c.In.Span[..at]); fifoFd[qt] = fd; fifoN[qt] = reqs; qt++; c.In.Consume(at); }
            }
        }
        if (sout.Len > 0) fixed (byte* p = sout.Array) { nint w = Native.write(rs, p, sout.Len); if (w > 0) sout.Consume((int)w); }
        foreach (var c in dirty)
        {
            c.Dirty = false;
            fixed (byte* p = c.Out.Array) { nint w = Native.write(c.Fd, p, c.Out.Len); if (w > 0) c.Out.Consume((int)w); }
        }
        dirty.Clear();
    }
}

sealed class Client { public int Fd; public Socket Socket = null!; public Buf In = new(), Out = new(); public bool Dirty; }

sealed class Buf
{
    public byte[] Array = new byte[16384]; public int Len;
    public Span<byte> Span => Array.AsSpan(0, Len);
    public void Put(ReadOnlySpan<byte> b) { if (Len + b.Length > Array.Length) System.Array.Resize(ref Array, (Len + b.Length) * 2); b.CopyTo(Array.AsSpan(Len)); Len += b.Length; }
    public void Consume(int n) { Array.AsSpan(n, Len - n).CopyTo(Array); Len -= n; }
}

static class Resp
{
    static int Line(ReadOnlySpan<byte> p) { int i = p.IndexOf("\r\n"u8); return i < 0 ? 0 : i + 2; }
    static long Num(ReadOnlySpan<byte> p) { long v = 0; bool neg = false; int i = 1; if (p[1] == '-') { neg = true; i = 2; } for (; p[i] != '\r'; i++) v = v * 10 + (p[i] - '0'); return neg ? -v : v; }
    public static int Value(ReadOnlySpan<byte> p)
    {
        if (p.Length == 0) return 0;
        int l = Line(p); if (l == 0) return 0;
        switch (p[0])
        {
            case (byte)'+' or (byte)'-' or (byte)':': return l;
            case (byte)'$': { long v = Num(p); if (v < 0) return l; return l + v + 2 > p.Length ? 0 : (int)(l + v + 2); }
            case (byte)'*': { long v = Num(p); if (v < 0) return l; int at = l; for (long i = 0; i < v; i++) { int e = Value(p[at..]); if (e == 0) return 0; at += e; } return at; }
        }
        throw new InvalidDataException("bad frame");
    }
}

static unsafe partial class Native
{
    [StructLayout(LayoutKind.Sequential, Pack = 4)] public struct EpollEvent { public uint Events; public ulong Data; }
    [LibraryImport("libc", SetLastError = true)] public static partial int epoll_create1(int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int epoll_ctl(int ep, int op, int fd, EpollEvent* ev);
    [LibraryImport("libc", SetLastError = true)] public static partial int epoll_wait(int ep, EpollEvent* evs, int max, int timeout);
    [LibraryImport("libc", SetLastError = true)] public static partial nint read(int fd, byte* buf, nint count);
    [LibraryImport("libc", SetLastError = true)] public static partial nint write(int fd, byte* buf, nint count);
    public static void Add(int ep, int fd) { var ev = new EpollEvent { Events = 1, Data = (ulong)fd }; epoll_ctl(ep, 1, fd, &ev); }
}
