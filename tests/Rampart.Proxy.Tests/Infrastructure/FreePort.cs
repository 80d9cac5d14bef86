using System.Net;
using System.Net.Sockets;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A free loopback port for a server a test starts on an address it must know first (redis-server, nutcracker, a
/// Rampart from a file), so parallel test runs never collide on fixed ones.
/// </summary>
/// <remarks>
/// The ports come from below the kernel's ephemeral range (<c>ip_local_port_range</c>), not from it. A port the OS
/// hands out for port 0 is free only until the next bind to port 0 or the next outgoing connection, and the tests
/// make thousands of both: the server that was to listen on it then fails to start, or, until it has exited, a
/// readiness PING reaches whatever took the port. Below the range, only another <see cref="Next"/> could pick the same
/// port, and the candidates start at a random place. A cluster node's bus port (port + 10,000) stays below the range.
/// </remarks>
public static class FreePort
{
    private const int BusOffset = 10_000;
    private const int Lowest = 10_000;
    private static readonly int Highest = EphemeralLow() - BusOffset; // exclusive
    private static int _next = Random.Shared.Next(0, 1 << 20);

    public static int Next()
    {
        int span = Highest - Lowest;
        if (span < 1_000) return FromTheOs(); // an unusual ip_local_port_range: fall back to the OS's choice
        for (int tries = 0; tries < span; tries++)
        {
            int candidate = Lowest + (int)((uint)Interlocked.Increment(ref _next) % (uint)span);
            if (IsFree(candidate) && IsFree(candidate + BusOffset)) return candidate;
        }
        return FromTheOs();
    }

    private static bool IsFree(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FromTheOs()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static int EphemeralLow()
    {
        try
        {
            string range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
            return int.Parse(range.Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[0]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32_768; // the kernel's default
        }
    }
}
