using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Backends;

/// <summary>
/// A shared connection's time rules (the pool's <c>timeout</c>, a stalled connection) on a fake clock: the whole proxy
/// runs on it, so its sweep ticks only when the test moves the clock, and the server never answers. No test waits for
/// a rule in real time.
/// </summary>
public sealed class ServerConnectionClockTests
{
    private readonly FakeTimeProvider _clock = new();

    /// <summary>A proxy on the fake clock with one pool "t" (one event loop) in front of <paramref name="server"/>.</summary>
    private async Task<ProxyServer> StartAsync(SilentServer server, int? timeoutMs = null)
    {
        var pool = new PoolConfig
        {
            Name = "t",
            Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
            Servers = [new ServerConfig { Host = "127.0.0.1", Port = server.Port, Weight = 1, Name = "s0" }],
            TimeoutMs = timeoutMs,
        };
        var config = new ProxyConfig { Source = "(test)", Pools = [pool], Settings = new RampartSettings { EventLoops = 1 } };
        var proxy = new ProxyServer(config, time: _clock);
        await proxy.StartAsync();
        return proxy;
    }

    private static RawClient Connect(ProxyServer proxy) => new(((IPEndPoint)proxy.GetListenEndPoint("t")).Port);

    [Fact]
    public async Task Request_WhenServerDoesNotAnswer_FailsWithTimeoutOnlyOnceTheTimeoutHasPassed()
    {
        using var server = new SilentServer();
        await using var proxy = await StartAsync(server, timeoutMs: 400);
        using var client = Connect(proxy);
        var stats = proxy.GetPool("t").Routing.Servers[0].Stats;

        client.Send(RespText.Command("GET", "k"));
        // Written: its timeout counts from the fake clock's now, which moves only below.
        await server.WaitForAsync("GET");

        _clock.Advance(TimeSpan.FromMilliseconds(400)); // the sweep ticks every 40 ms on this clock
        Assert.Equal(0, stats.Timeouts); // exactly the timeout: not over it yet

        _clock.Advance(TimeSpan.FromMilliseconds(40));
        Assert.Equal(1, stats.Timeouts);
        Assert.Equal("-ERR timeout", client.ReadLine());
    }

    [Fact]
    public async Task SharedConnection_CountsAsHeldByTheServer_OnlyOnceItsOldestRequestIsOver100MsLate()
    {
        using var server = new SilentServer();
        await using var proxy = await StartAsync(server);
        using var client = Connect(proxy);

        client.Send(RespText.Command("EVAL", "while true do end", "0")); // a busy script, as far as Rampart can tell
        await server.WaitForAsync("EVAL");
        var shared = proxy.GetPool("t").Routing.Servers[0].AllConnections.Single(c => c.Link is not null);

        _clock.Advance(TimeSpan.FromMilliseconds(ServerConnection.StallMs));
        Assert.False(shared.IsStalled()); // not yet: other clients still share it
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(shared.IsStalled()); // from now on, clients with nothing in flight take the detour lane
    }

    /// <summary>A server that answers Rampart's handshake (CLIENT SETNAME, INFO) and then nothing at all.</summary>
    private sealed class SilentServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<Socket> _accepted = [];
        private readonly StringBuilder _received = new();

        public SilentServer()
        {
            _listener.Start();
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>Waits until a request containing <paramref name="text"/> has arrived after the handshake.</summary>
        public async Task WaitForAsync(string text)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!Received().Contains(text, StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"'{text}' never reached the server");
                await Task.Delay(5);
            }
        }

        private string Received()
        {
            lock (_received) return _received.ToString();
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync();
                    lock (_accepted) _accepted.Add(socket);
                    _ = ServeAsync(socket);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }

        private async Task ServeAsync(Socket socket)
        {
            var handshake = new StringBuilder();
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    int read = await socket.ReceiveAsync(buffer);
                    if (read == 0) return;
                    string text = Encoding.UTF8.GetString(buffer, 0, read);
                    if (handshake is null)
                    {
                        lock (_received) _received.Append(text);
                        continue;
                    }
                    handshake.Append(text);
                    if (!handshake.ToString().Contains("INFO", StringComparison.Ordinal)) continue;
                    await socket.SendAsync("+OK\r\n$0\r\n\r\n"u8.ToArray()); // CLIENT SETNAME, INFO server
                    handshake = null;
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }

        public void Dispose()
        {
            _listener.Stop();
            lock (_accepted) foreach (var socket in _accepted) socket.Dispose();
        }
    }
}
