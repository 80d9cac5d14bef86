using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Rampart.Protocol.Tests;

/// <summary>
/// A real redis-server on a free loopback port, with no persistence, killed by PID on dispose.
/// Used as an xunit class fixture: one server per test class.
/// </summary>
public class RedisServer : IDisposable
{
    private readonly Process _process;

    public int Port { get; }

    public RedisServer() : this([]) { }

    protected RedisServer(string[] extraArgs)
    {
        for (int attempt = 0; ; attempt++)
        {
            Port = FreePort();
            var psi = new ProcessStartInfo("redis-server")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                         "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning", "--enable-debug-command", "yes" })
                psi.ArgumentList.Add(arg);
            foreach (var arg in extraArgs) psi.ArgumentList.Add(arg);
            _process = Process.Start(psi) ?? throw new InvalidOperationException("redis-server did not start");
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            if (WaitUntilReady()) return;
            Kill();
            if (attempt == 2) throw new InvalidOperationException($"redis-server on port {Port} never answered PING");
        }
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private bool WaitUntilReady()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) return false;
            try
            {
                using var connection = Connect();
                var reply = connection.Exchange("PING\r\n"u8.ToArray()).AsSpan();
                if (reply.SequenceEqual("+PONG\r\n"u8) || reply.StartsWith("-NOAUTH"u8)) return true;
            }
            catch (SocketException) { }
            catch (IOException) { }
            Thread.Sleep(20);
        }
        return false;
    }

    public RedisConnection Connect() => new(Port);

    private void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
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
