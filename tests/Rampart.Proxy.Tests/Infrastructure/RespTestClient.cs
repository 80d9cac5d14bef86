using System.Net;
using System.Net.Sockets;
using System.Text;
using Rampart.Protocol;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>A minimal blocking RESP2 client for tests: raw bytes out, parsed replies in.</summary>
public sealed class RespTestClient : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly ByteBuffer _input = new(64 * 1024);
    private readonly ReplyScanner _scanner = new();

    private RespTestClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _stream.ReadTimeout = 30_000;
    }

    public static RespTestClient ConnectTcp(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        return new RespTestClient(socket);
    }

    /// <summary>A client of any listener: IPv4, IPv6 or a unix socket's path.</summary>
    public static RespTestClient Connect(EndPoint endpoint)
    {
        var socket = endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(endpoint);
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

    /// <summary>A command's exact bytes, encoded by the protocol's own <see cref="RespWriter.Command(ByteBuffer, ReadOnlySpan{byte[]})"/>.</summary>
    public static byte[] Command(params byte[][] args)
    {
        using var output = new ByteBuffer(256);
        RespWriter.Command(output, args);
        return output.Span.ToArray();
    }

    public static byte[] Command(params string[] args) => Command(args.Select(Encoding.UTF8.GetBytes).ToArray());

    public void Send(ReadOnlySpan<byte> bytes) => _stream.Write(bytes);

    /// <summary>Bytes received and not read yet (0: no reply has come since the last read).</summary>
    public int Available => _input.Length + _socket.Available;

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

    /// <summary>
    /// string (+), RespError (-), long (:), byte[] or null ($), object?[] or null (*), read whole with the protocol's
    /// <see cref="ReplyScanner"/> and parsed by its <see cref="RespValue"/>. Malformed bytes throw
    /// <see cref="InvalidDataException"/>; a closed connection, <see cref="IOException"/>.
    /// </summary>
    public object? ReadReply()
    {
        try
        {
            int length;
            while (!_scanner.TryScan(_input.Span, out length))
            {
                // Large replies arrive in large reads: 4 KB at a time would take a 200 MB reply 50,000 receives.
                int read = _stream.Read(_input.GetSpan(_input.Length > 64 * 1024 ? 1024 * 1024 : 16 * 1024));
                if (read == 0) throw new IOException("connection closed");
                _input.Advance(read);
            }
            var reply = RespValue.Parse(_input.Span[..length]);
            _input.Consume(length);
            return ToObject(reply);
        }
        catch (RespProtocolException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    /// <summary>A parsed reply as the plain values tests compare (RESP3 scalars as text, aggregates as arrays).</summary>
    public static object? ToObject(RespValue reply) => reply.Kind switch
    {
        RespValue.ValueKind.Null => null,
        RespValue.ValueKind.Integer or RespValue.ValueKind.Boolean => reply.Integer,
        RespValue.ValueKind.Error or RespValue.ValueKind.BulkError => new RespError(reply.Text!),
        RespValue.ValueKind.Bulk or RespValue.ValueKind.Verbatim => reply.Bytes,
        _ when reply.IsAggregate => reply.Items.Select(ToObject).ToArray(),
        _ => reply.Text,
    };

    public void Dispose()
    {
        _stream.Dispose();
        _input.Dispose();
    }
}

/// <summary>An error reply, kept as a value so tests can compare it.</summary>
public sealed record RespError(string Message);
