using System.Net;
using System.Net.Sockets;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>Asks the OS for a free loopback port, so parallel test runs never collide on fixed ones.</summary>
public static class FreePort
{
    public static int Next()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
