using System.Net;
using System.Net.Sockets;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Reload;

/// <summary>
/// A pool's <c>allow:</c> list (closed at accept, nothing written, counted, logged at most once a second) and the
/// process-wide <c>max_connections</c>, on loopback: IPv4, IPv6 and IPv4-mapped clients, unix sockets, and reloads.
/// </summary>
public sealed class AccessControlTests
{
    private static string Pool(string name, string listen, RedisServerProcess redis, string extra = "") =>
        $"{name}:\n  listen: {listen}\n  redis: true\n{extra}  servers:\n    - 127.0.0.1:{redis.Port}:1\n";

    [Fact]
    public async Task AllowListWithout127_RejectsLoopbackClientAtAccept_ReloadToAllowIt_AcceptsLive()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        var log = new CapturedLog();
        await using var rampart = await RampartFromFile.StartAsync(Pool("alpha", $"127.0.0.1:{port}", redis, "  allow: [10.0.0.0/8]\n"), log);

        using (var refused = new RawClient(port))
        {
            Assert.True(refused.IsClosedByServer(TimeSpan.FromSeconds(5)), "a client outside the allow list was kept");
        }
        var pool = Assert.Single(rampart.Server.Pools);
        Assert.Equal(1, pool.DeniedConnections);
        Assert.Equal(0, pool.CurrentConnections);
        Assert.Contains(log.Lines, l => l.Contains("Pool alpha: connection from 127.0.0.1:", StringComparison.Ordinal)
                                        && l.Contains("rejected: address not in the pool's allow list", StringComparison.Ordinal));

        var outcome = rampart.Reload(Pool("alpha", $"127.0.0.1:{port}", redis, "  allow: [10.0.0.0/8, 127.0.0.1/32]\n"));
        Assert.Contains("allow [10.0.0.0/8] -> [10.0.0.0/8, 127.0.0.1/32]", outcome.Changes);
        using var accepted = new RawClient(port);
        accepted.AssertStillServes();
        Assert.Equal(1, pool.DeniedConnections);

        // Narrowing the list again applies to new connections only, as HAProxy's connection rules do.
        rampart.Reload(Pool("alpha", $"127.0.0.1:{port}", redis, "  allow: [192.168.0.0/16]\n"));
        using (var late = new RawClient(port)) Assert.True(late.IsClosedByServer(TimeSpan.FromSeconds(5)));
        accepted.AssertStillServes();
    }

    [Fact]
    public async Task Ipv6Listener_AllowsOnlyWhatItsListSays()
    {
        using var redis = RedisServerProcess.Start();
        int v6 = FreePort.Next(), v6Refusing = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(
            Pool("six", $"\"[::1]:{v6}\"", redis, "  allow: [\"::1/128\"]\n")
            + Pool("four", $"\"[::1]:{v6Refusing}\"", redis, "  allow: [127.0.0.1/32]\n"));

        using (var client = ConnectV6(v6))
        {
            client.Send(RespText.Command("PING"));
            Assert.Equal("+PONG", client.ReadLine());
        }
        using (var refused = ConnectV6(v6Refusing)) Assert.True(refused.IsClosedByServer(TimeSpan.FromSeconds(5)));
        Assert.Equal(1, rampart.Server.Pools.Single(p => p.Config.Name == "four").DeniedConnections);
    }

    [Fact]
    public async Task DualStackListener_MatchesIpv4ClientsAsIpv4()
    {
        using var redis = RedisServerProcess.Start();
        int mapped = FreePort.Next(), v6Only = FreePort.Next();
        // A [::] listener accepts IPv4 clients as ::ffff:127.0.0.1; allow lists name them as plain IPv4.
        await using var rampart = await RampartFromFile.StartAsync(
            Pool("v4", $"\"[::]:{mapped}\"", redis, "  allow: [127.0.0.0/8]\n")
            + Pool("v6", $"\"[::]:{v6Only}\"", redis, "  allow: [\"::1/128\"]\n"));

        using (var client = new RawClient(mapped))
        {
            client.Send(RespText.Command("PING"));
            Assert.Equal("+PONG", client.ReadLine());
        }
        using (var refused = new RawClient(v6Only)) Assert.True(refused.IsClosedByServer(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task UnixSocketListener_IgnoresAllow()
    {
        using var redis = RedisServerProcess.Start();
        string path = Path.Combine(Path.GetTempPath(), $"rampart-allow-{Guid.NewGuid():N}.sock");
        await using var rampart = await RampartFromFile.StartAsync(Pool("unix", path, redis, "  allow: [10.0.0.0/8]\n"));
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(path));
        socket.Send(System.Text.Encoding.ASCII.GetBytes(RespText.Command("PING")));
        var buffer = new byte[16];
        socket.ReceiveTimeout = 5000;
        Assert.Equal("+PONG\r\n", System.Text.Encoding.ASCII.GetString(buffer, 0, socket.Receive(buffer)));
    }

    [Fact]
    public async Task MaxConnections_CountsEveryPool_AnswersLikeRedis_AndFollowsReload()
    {
        using var redis = RedisServerProcess.Start();
        int a = FreePort.Next(), b = FreePort.Next();
        string pools = Pool("a", $"127.0.0.1:{a}", redis) + Pool("b", $"127.0.0.1:{b}", redis);
        await using var rampart = await RampartFromFile.StartAsync("rampart:\n  max_connections: 2\n" + pools);

        using var first = new RawClient(a);
        using var second = new RawClient(b);
        first.AssertStillServes();
        second.AssertStillServes();
        using (var third = new RawClient(a))
        {
            Assert.Equal("-ERR max number of clients reached", third.ReadLine());
            Assert.True(third.IsClosedByServer(TimeSpan.FromSeconds(5)));
        }
        Assert.Equal(1, rampart.Server.MaxConnectionsRejected);
        Assert.Equal(2, rampart.Server.ClientConnections);

        var outcome = rampart.Reload("rampart:\n  max_connections: 3\n" + pools);
        Assert.Contains("max_connections 2 -> 3", outcome.Changes);
        using var fourth = new RawClient(b);
        fourth.AssertStillServes();
        Assert.Equal(3, rampart.Server.ClientConnections);
    }

    [Theory]
    [InlineData("127.0.0.1:5000", "10.0.0.0/8", false)]
    [InlineData("127.0.0.1:5000", "127.0.0.1/32", true)]
    [InlineData("[::ffff:127.0.0.1]:5000", "127.0.0.0/8", true)]
    [InlineData("[::ffff:127.0.0.1]:5000", "::1", false)]
    [InlineData("127.0.0.1:5000", "::ffff:0:0/96", true)]
    [InlineData("127.0.0.1:5000", "::ffff:127.0.0.0/104", true)]
    [InlineData("[::1]:5000", "::1/128", true)]
    [InlineData("[::1]:5000", "127.0.0.1", false)]
    [InlineData("[2001:db8::5]:5000", "2001:db8::/32", true)]
    [InlineData("[2001:db9::5]:5000", "2001:db8::/32", false)]
    [InlineData("10.1.2.3:5000", "::/0", true)]
    public void AllowMatching(string client, string allow, bool allowed)
    {
        Assert.True(ClientNetworkParser.TryParse(allow, out var network, out var error), error);
        Assert.Equal(allowed, ClientAccess.Allows([network], IPEndPoint.Parse(client)));
    }

    private static RawV6Client ConnectV6(int port) => new(port);

    /// <summary>A line-reading client over IPv6 loopback (RawClient dials 127.0.0.1).</summary>
    private sealed class RawV6Client : IDisposable
    {
        private readonly TcpClient _client = new(AddressFamily.InterNetworkV6) { NoDelay = true };
        private readonly RawClientLines _lines;

        public RawV6Client(int port)
        {
            _client.Connect(IPAddress.IPv6Loopback, port);
            _lines = new RawClientLines(_client.GetStream());
        }

        public void Send(string text) => _client.GetStream().Write(System.Text.Encoding.UTF8.GetBytes(text));
        public string ReadLine() => _lines.ReadLine();
        public bool IsClosedByServer(TimeSpan timeout) => _lines.IsClosed(timeout);
        public void Dispose() => _client.Dispose();
    }

    private sealed class RawClientLines(NetworkStream stream)
    {
        public string ReadLine()
        {
            stream.ReadTimeout = 10_000;
            var line = new System.Text.StringBuilder();
            int b;
            while ((b = stream.ReadByte()) >= 0)
            {
                if (b == '\n' && line.Length > 0 && line[^1] == '\r') return line.ToString(0, line.Length - 1);
                line.Append((char)b);
            }
            return line.ToString();
        }

        public bool IsClosed(TimeSpan timeout)
        {
            stream.ReadTimeout = (int)timeout.TotalMilliseconds;
            try
            {
                var buffer = new byte[256];
                while (stream.Read(buffer) > 0) { }
                return true;
            }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
            {
                return false;
            }
            catch (IOException)
            {
                return true;
            }
        }
    }
}
