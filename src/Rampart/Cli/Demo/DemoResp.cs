using System.Net;
using System.Net.Sockets;
using Rampart.Protocol;

namespace Rampart.Cli.Demo;

/// <summary>
/// One command to a loopback redis-server or sentinel, for the demo's readiness checks: a new connection per call,
/// 1 s timeouts, and null instead of an exception when the node does not answer. Replies are read with the protocol's
/// <see cref="ReplyScanner"/> and <see cref="RespValue"/>.
/// </summary>
internal static class DemoResp
{
    /// <summary>The node's reply, or null when it does not answer (or answers with bytes that are not RESP).</summary>
    public static RespValue? Ask(int port, params string[] command)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            {
                NoDelay = true, SendTimeout = 1000, ReceiveTimeout = 1000,
            };
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            using var buffer = new ByteBuffer(4096);
            RespWriter.Command(buffer, command);
            socket.Send(buffer.Span);
            buffer.Clear();
            var scanner = new ReplyScanner();
            int length;
            while (!scanner.TryScan(buffer.Span, out length))
            {
                int read = socket.Receive(buffer.GetSpan(4096));
                if (read == 0) return null;
                buffer.Advance(read);
            }
            return RespValue.Parse(buffer.Span[..length]);
        }
        catch (Exception e) when (e is SocketException or IOException or RespProtocolException)
        {
            return null;
        }
    }

    /// <summary>A simple or bulk string reply's text; null for any other reply or none.</summary>
    public static string? Text(RespValue? reply) =>
        reply is { Kind: RespValue.ValueKind.Simple or RespValue.ValueKind.Bulk } ? reply.Text : null;
}
