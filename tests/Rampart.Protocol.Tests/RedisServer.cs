using System.Net;
using System.Net.Sockets;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Protocol.Tests;

/// <summary>
/// A real redis-server (the tests' one launcher, <see cref="RedisServerProcess"/>, with DEBUG enabled), used as an
/// xunit class fixture: one server per test class, with raw connections and a parsed-value client.
/// </summary>
public class RedisServer : IDisposable
{
    private readonly RedisServerProcess _server;
    private RespTestClient? _client;

    public int Port => _server.Port;

    public RedisServer() : this([]) { }

    protected RedisServer(string[] extraArgs) => _server = RedisServerProcess.Start(["--enable-debug-command", "yes", .. extraArgs]);

    public RedisConnection Connect() => new(Port);

    /// <summary>One parsed-value client for the class, connected on first use.</summary>
    public RespTestClient Client => _client ??= RespTestClient.ConnectTcp(Port);

    public void Dispose()
    {
        _client?.Dispose();
        _server.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A real redis-server with requirepass <see cref="Password"/>: its clients start unauthenticated.</summary>
public sealed class RedisServerWithPassword() : RedisServer(["--requirepass", Password])
{
    public const string Password = "s3cret";
}

/// <summary>A raw socket to Redis that reads whole replies with <see cref="ReplyScanner"/>.</summary>
public sealed class RedisConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly ReplyScanner _scanner = new();
    private byte[] _buffer = new byte[64 * 1024];
    private int _length;

    public RedisConnection(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveTimeout = 5000,
            SendTimeout = 5000,
            NoDelay = true,
        };
        _socket.Connect(IPAddress.Loopback, port);
    }

    /// <summary>Sends bytes; a server that already closed the connection (after a protocol error) is not a failure.</summary>
    public void Send(byte[] bytes)
    {
        try
        {
            int sent = 0;
            while (sent < bytes.Length) sent += _socket.Send(bytes, sent, bytes.Length - sent, SocketFlags.None);
        }
        catch (SocketException) { }
    }

    /// <summary>Reads one whole reply; null when the server closed the connection first.</summary>
    public byte[]? ReadReply()
    {
        while (true)
        {
            if (_length > 0 && _scanner.TryScan(_buffer.AsSpan(0, _length), out int length))
            {
                var reply = _buffer[..length];
                Buffer.BlockCopy(_buffer, length, _buffer, 0, _length - length);
                _length -= length;
                return reply;
            }
            if (_length == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            int n;
            try
            {
                n = _socket.Receive(_buffer, _length, _buffer.Length - _length, SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                n = 0;
            }
            if (n == 0) return null;
            _length += n;
        }
    }

    public byte[] Exchange(byte[] request)
    {
        Send(request);
        return ReadReply() ?? throw new IOException("connection closed before a reply");
    }

    public void Dispose() => _socket.Dispose();
}
