using System.Net;
using System.Net.Sockets;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A TCP relay on a free loopback port in front of a real redis-server, for faults no healthy Redis sends: armed with
/// <see cref="AppendToNextReply"/>, it adds bytes right after the next chunk the server sends, in the same write, so
/// Rampart reads good replies and then bytes it cannot take as a reply. Every connection is relayed as it is
/// otherwise. Disposing it closes the listener and every relayed connection.
/// </summary>
public sealed class FaultRelay : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _serverPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private byte[]? _inject;

    public FaultRelay(int serverPort)
    {
        _serverPort = serverPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptLoopAsync();
    }

    public int Port { get; }

    /// <summary>Server chunks relayed since the relay started (tells a test the server has answered).</summary>
    public int ServerChunks => Volatile.Read(ref _serverChunks);
    private int _serverChunks;

    /// <summary>The next chunk from the server reaches Rampart with <paramref name="bytes"/> appended in one write.</summary>
    public void AppendToNextReply(byte[] bytes) => Volatile.Write(ref _inject, bytes);

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var server = new TcpClient { NoDelay = true };
                await server.ConnectAsync(IPAddress.Loopback, _serverPort, _stop.Token);
                client.NoDelay = true;
                lock (_open) _open.AddRange([client, server]);
                _ = PumpAsync(client, server, fromServer: false);
                _ = PumpAsync(server, client, fromServer: true);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // stopped
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool fromServer)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var input = from.GetStream();
            var output = to.GetStream();
            while (true)
            {
                int read = await input.ReadAsync(buffer, _stop.Token);
                if (read == 0) break;
                if (fromServer && Interlocked.Exchange(ref _inject, null) is { } extra)
                {
                    var joined = new byte[read + extra.Length];
                    buffer.AsSpan(0, read).CopyTo(joined);
                    extra.CopyTo(joined, read);
                    await output.WriteAsync(joined, _stop.Token);
                }
                else
                {
                    await output.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                }
                if (fromServer) Interlocked.Increment(ref _serverChunks);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // one side went away
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_open) foreach (var c in _open) c.Dispose();
    }
}
