using System.Net.Sockets;

namespace Rampart.Proxy.Backends;

/// <summary>Short, log-friendly descriptions of the ways a socket operation fails.</summary>
internal static class SocketErrors
{
    public static string Describe(Exception e) => e switch
    {
        SocketException s => s.Message,
        ObjectDisposedException => "connection closed",
        OperationCanceledException => "connect timed out",
        _ => e.Message,
    };
}
