using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Cli.Demo;

/// <summary>
/// One command to a loopback redis-server or sentinel, for the demo's readiness checks: a new connection per call,
/// 1 s timeouts, and null instead of an exception when the node does not answer.
/// </summary>
internal static class DemoResp
{
    /// <summary>An error reply (<c>-ERR ...</c>).</summary>
    public sealed record Error(string Message);

    /// <summary>string (+ and bulk), long (:), object?[] (*), <see cref="Error"/> (-), or null (nil, or no answer).</summary>
    public static object? Ask(int port, params string[] command)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            {
                NoDelay = true, SendTimeout = 1000, ReceiveTimeout = 1000,
            };
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            using var stream = new NetworkStream(socket, ownsSocket: false);
            var request = new StringBuilder($"*{command.Length}\r\n");
            foreach (var arg in command) request.Append($"${Encoding.UTF8.GetByteCount(arg)}\r\n{arg}\r\n");
            stream.Write(Encoding.UTF8.GetBytes(request.ToString()));
            using var reader = new BufferedStream(stream);
            return Read(reader);
        }
        catch (Exception e) when (e is SocketException or IOException or FormatException)
        {
            return null;
        }
    }

    private static object? Read(Stream input)
    {
        int type = input.ReadByte();
        string line = ReadLine(input);
        switch (type)
        {
            case '+': return line;
            case '-': return new Error(line);
            case ':': return long.Parse(line);
            case '$':
            {
                int length = int.Parse(line);
                if (length < 0) return null;
                var data = new byte[length + 2];
                input.ReadExactly(data);
                return Encoding.UTF8.GetString(data, 0, length);
            }
            case '*':
            {
                int count = int.Parse(line);
                if (count < 0) return null;
                var items = new object?[count];
                for (int i = 0; i < count; i++) items[i] = Read(input);
                return items;
            }
            default: throw new IOException("not a RESP reply");
        }
    }

    private static string ReadLine(Stream input)
    {
        var line = new StringBuilder();
        while (true)
        {
            int b = input.ReadByte();
            if (b < 0) throw new IOException("connection closed");
            if (b == '\r')
            {
                input.ReadByte();
                return line.ToString();
            }
            line.Append((char)b);
        }
    }
}
