using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>A minimal blocking RESP2 client for tests: raw bytes out, parsed replies in.</summary>
public sealed class RespTestClient : IDisposable
{
    private readonly Socket _socket;
    private readonly BufferedStream _in;
    private readonly NetworkStream _stream;

    private RespTestClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _in = new BufferedStream(_stream, 64 * 1024);
        _stream.ReadTimeout = 30_000;
    }

    public static RespTestClient ConnectTcp(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        return new RespTestClient(socket);
    }

    /// <summary>This client's own address, as the server (or Rampart) sees it in CLIENT LIST's addr=.</summary>
    public string LocalEndPoint => _socket.LocalEndPoint!.ToString()!;

    /// <summary>How long a read waits for a reply (30 s by default); pollers use less so a frozen server cannot stall them.</summary>
    public int ReadTimeoutMs
    {
        get => _stream.ReadTimeout;
        set => _stream.ReadTimeout = value;
    }

    public static byte[] Command(params byte[][] args)
    {
        var ms = new MemoryStream();
        ms.Write(Encoding.ASCII.GetBytes($"*{args.Length}\r\n"));
        foreach (var arg in args)
        {
            ms.Write(Encoding.ASCII.GetBytes($"${arg.Length}\r\n"));
            ms.Write(arg);
            ms.Write("\r\n"u8);
        }
        return ms.ToArray();
    }

    public static byte[] Command(params string[] args) => Command(args.Select(Encoding.UTF8.GetBytes).ToArray());

    public void Send(ReadOnlySpan<byte> bytes) => _stream.Write(bytes);

    public object? Call(params string[] args)
    {
        Send(Command(args));
        return ReadReply();
    }

    /// <summary>Like <see cref="Call"/>, with bulk strings decoded as UTF-8 text (for COMMAND, INFO and the like).</summary>
    public object? CallText(params string[] args) => AsText(Call(args));

    public static object? AsText(object? reply) => reply switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        object?[] items => Array.ConvertAll(items, AsText),
        _ => reply,
    };

    /// <summary>string (+), RespError (-), long (:), byte[] or null ($), object?[] or null (*).</summary>
    public object? ReadReply()
    {
        int type = _in.ReadByte();
        if (type < 0) throw new IOException("connection closed");
        string line = ReadLine();
        switch ((char)type)
        {
            case '+': return line;
            case '-': return new RespError(line);
            case ':': return long.Parse(line);
            case '$':
            {
                int length = int.Parse(line);
                if (length < 0) return null;
                var data = new byte[length];
                _in.ReadExactly(data);
                ReadLine();
                return data;
            }
            case '*':
            {
                int count = int.Parse(line);
                if (count < 0) return null;
                var items = new object?[count];
                for (int i = 0; i < count; i++) items[i] = ReadReply();
                return items;
            }
            default: throw new InvalidDataException($"unexpected reply type '{(char)type}'");
        }
    }

    private string ReadLine()
    {
        var sb = new StringBuilder();
        while (true)
        {
            int b = _in.ReadByte();
            if (b < 0) throw new IOException("connection closed");
            if (b == '\r')
            {
                if (_in.ReadByte() != '\n') throw new InvalidDataException("CR without LF");
                return sb.ToString();
            }
            sb.Append((char)b);
        }
    }

    public void Dispose()
    {
        _in.Dispose();
        _stream.Dispose();
    }
}

/// <summary>An error reply, kept as a value so tests can compare it.</summary>
public sealed record RespError(string Message);
