using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Rampart.Protocol;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A blocking test client that reads whole RESP3 frames (any type, push frames included) as their exact text, found
/// with Rampart's own <see cref="ReplyScanner"/>; <see cref="Shape"/> reduces a frame to its type structure for
/// comparing Rampart's replies with a real Redis's where values (ids, addresses) differ.
/// </summary>
public sealed partial class Resp3Client : IDisposable
{
    private readonly Socket _socket;
    private readonly ByteBuffer _input = new(16 * 1024);
    private readonly ReplyScanner _scanner = new();

    private Resp3Client(Socket socket) => _socket = socket;

    public static Resp3Client Connect(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        return new Resp3Client(socket);
    }

    /// <summary>Connects and says HELLO 3; the reply must be a RESP3 map.</summary>
    public static Resp3Client ConnectResp3(int port)
    {
        var client = Connect(port);
        string hello = client.Call("HELLO", "3");
        if (!hello.StartsWith("%7\r\n", StringComparison.Ordinal)) throw new InvalidOperationException("HELLO 3 answered " + hello);
        return client;
    }

    public void Send(params string[] args) => SendRaw(RespTestClient.Command(args));

    /// <summary>The client's socket (to see whether the other side closed it).</summary>
    public Socket Socket => _socket;

    public void SendRaw(byte[] bytes) => _socket.Send(bytes);

    /// <summary>Sends one command and reads one frame.</summary>
    public string Call(params string[] args)
    {
        Send(args);
        return Read();
    }

    /// <summary>Reads the next whole frame (a reply or a push); throws after <paramref name="timeoutMs"/>.</summary>
    public string Read(int timeoutMs = 10_000) => Encoding.UTF8.GetString(ReadFrame(timeoutMs));

    /// <summary>
    /// The next whole frame's exact bytes (binary values intact, for byte-for-byte comparison); throws when no frame
    /// is complete within <paramref name="timeoutMs"/> of no progress, so a large frame that keeps arriving is waited for.
    /// </summary>
    public byte[] ReadFrame(int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            if (_input.Length > 0 && _scanner.TryScan(_input.Span, out int length))
            {
                byte[] frame = _input.Span[..length].ToArray();
                _input.Consume(length);
                return frame;
            }
            long left = deadline - Environment.TickCount64;
            if (left <= 0 || !_socket.Poll((int)Math.Min(left, int.MaxValue / 1000) * 1000, SelectMode.SelectRead))
                throw new TimeoutException($"no complete frame within {timeoutMs} ms (have {_input.Length} bytes: {Encoding.UTF8.GetString(_input.Span[..Math.Min(_input.Length, 200)])})");
            // Large frames arrive in large reads: 4 KB at a time would take a 200 MB reply 50,000 receives.
            int read = _socket.Receive(_input.GetMemory(_input.Length > 64 * 1024 ? 1024 * 1024 : 4096).Span);
            if (read == 0) throw new IOException("connection closed");
            _input.Advance(read);
            deadline = Environment.TickCount64 + timeoutMs;
        }
    }

    /// <summary>True when no byte arrives within <paramref name="ms"/> (nothing more was sent to this client).</summary>
    public bool IsQuietFor(int ms) => _input.Length == 0 && !_socket.Poll(ms * 1000, SelectMode.SelectRead);

    /// <summary>
    /// A frame's type structure: every type byte and aggregate count, simple strings and errors in full (they are
    /// Redis's fixed texts), verbatim strings' format, but no bulk, number or verbatim content.
    /// </summary>
    public static string Shape(string frame)
    {
        var shape = new StringBuilder();
        int pos = 0;
        ShapeOf(frame, ref pos, shape);
        return shape.ToString();
    }

    private static void ShapeOf(string frame, ref int pos, StringBuilder shape)
    {
        char type = frame[pos];
        int end = frame.IndexOf("\r\n", pos, StringComparison.Ordinal);
        string header = frame[(pos + 1)..end];
        pos = end + 2;
        switch (type)
        {
            case '$' or '=' or '!':
                int length = int.Parse(header);
                if (length < 0) { shape.Append("$-1 "); return; }
                shape.Append(type);
                if (type == '=') shape.Append(frame, pos, 4);
                shape.Append(' ');
                pos += length + 2;
                return;
            case '*' or '%' or '~' or '>' or '|':
                int count = int.Parse(header);
                shape.Append(type).Append(count).Append('[');
                if (type is '%' or '|') count *= 2;
                for (int i = 0; i < count; i++) ShapeOf(frame, ref pos, shape);
                shape.Append("] ");
                return;
            case '+' or '-':
                shape.Append(type).Append(header).Append(' ');
                return;
            default:
                shape.Append(type).Append(' ');
                return;
        }
    }

    /// <summary>HELLO's reply with the client id masked (it is each server's own).</summary>
    public static string MaskId(string hello) => IdField().Replace(hello, "$2\r\nid\r\n:ID\r\n");

    [GeneratedRegex(@"\$2\r\nid\r\n:\d+\r\n")]
    private static partial Regex IdField();

    public void Dispose()
    {
        _socket.Dispose();
        _input.Dispose();
    }
}
