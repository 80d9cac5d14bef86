using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Rampart.Protocol;
using Rampart.Proxy.Security;

namespace Rampart.Proxy.Topology;

/// <summary>
/// A plain request/reply connection for the control plane: Sentinel queries, ROLE checks, and Sentinel's event
/// channel. One command at a time; every wait is bounded by a timeout on the proxy's TimeProvider. Not used on the
/// request path.
/// </summary>
internal sealed class ControlConnection : IDisposable
{
    private readonly Socket _socket;
    // The socket's bytes, or a TLS session over them; set once connected (a NetworkStream needs a connected socket).
    private Stream? _stream;
    private readonly ByteBuffer _input = new(4096);
    private readonly ReplyScanner _scanner = new();
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    private ControlConnection(Socket socket, TimeSpan timeout, TimeProvider time)
    {
        _socket = socket;
        _timeout = timeout;
        _time = time;
    }

    public string Endpoint => _socket.RemoteEndPoint?.ToString() ?? "?";

    /// <summary>
    /// Connects and authenticates (when a password is given: as <paramref name="user"/>, a Redis 6 ACL user, or as the
    /// default user); throws on refusal or timeout.
    /// </summary>
    public static async Task<ControlConnection> ConnectAsync(EndPoint endpoint, string? password, TimeSpan timeout, TimeProvider time,
        CancellationToken cancel, string? user = null, ServerTlsContext? tls = null)
    {
        var family = endpoint is DnsEndPoint ? AddressFamily.InterNetwork : endpoint.AddressFamily;
        var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var connection = new ControlConnection(socket, timeout, time);
        try
        {
            using var deadline = new CancellationTokenSource(timeout, time);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel, deadline.Token);
            await socket.ConnectAsync(endpoint, limit.Token);
            connection._stream = new NetworkStream(socket, ownsSocket: false);
            if (tls is not null)
            {
                var session = new SslStream(connection._stream);
                connection._stream = session;
                try
                {
                    await session.AuthenticateAsClientAsync(tls.OptionsFor(Backends.ServerDialer.HostOf(endpoint)), limit.Token);
                }
                catch (System.Security.Authentication.AuthenticationException e)
                {
                    // An IOException, as the control plane's callers expect of a node they cannot use.
                    throw new IOException($"TLS handshake with {endpoint} failed: {e.Message}", e);
                }
            }
            if (password is not null)
            {
                var reply = user is null
                    ? await connection.CallAsync(cancel, "AUTH", password)
                    : await connection.CallAsync(cancel, "AUTH", user, password);
                if (reply.IsError) throw new IOException($"AUTH refused by {endpoint}: {reply.Text}");
            }
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public async Task<RespValue> CallAsync(CancellationToken cancel, params string[] args)
    {
        await SendAsync(cancel, args);
        return await ReadAsync(_timeout, cancel);
    }

    public async Task SendAsync(CancellationToken cancel, params string[] args)
    {
        using var output = new ByteBuffer(256);
        RespWriter.Command(output, args);
        await _stream!.WriteAsync(output.Memory, cancel);
    }

    /// <summary>Reads one reply or pushed message, waiting at most <paramref name="wait"/> (infinite for events).</summary>
    public async Task<RespValue> ReadAsync(TimeSpan wait, CancellationToken cancel)
    {
        using var deadline = new CancellationTokenSource(wait, _time); // an infinite wait starts no timer
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel, deadline.Token);
        while (true)
        {
            if (_input.Length > 0 && _scanner.TryScan(_input.Span, out int length))
            {
                var value = RespValue.Parse(_input.Span[..length]);
                _input.Consume(length);
                return value;
            }
            int read = await _stream!.ReadAsync(_input.GetMemory(4096), limit.Token);
            if (read == 0) throw new IOException($"{Endpoint} closed the connection");
            _input.Advance(read);
        }
    }

    /// <summary>Why a call failed, in words for the operator ("connection refused", "no reply within 300 ms").</summary>
    public static string Describe(Exception e, TimeSpan timeout) => e switch
    {
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused",
        SocketException s => s.Message,
        OperationCanceledException => $"no reply within {timeout.TotalMilliseconds} ms",
        RespProtocolException => "a reply that is not RESP",
        _ => e.Message,
    };

    public void Dispose()
    {
        _stream?.Dispose();
        _socket.Dispose();
        _input.Dispose();
    }
}
