using System.Net.Sockets;
using System.Text;
using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Integration;

/// <summary>Multiplexing must never hand a reply to the wrong client or out of order.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task TwoHundredClients_EachGetsOnlyItsOwnReplies()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        const int clients = 200;
        const int rounds = 50;
        var deadline = DateTime.UtcNow.AddSeconds(60);

        // Raw sockets, one per client, each pipelining SET then GET of keys and values that only it uses.
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync("127.0.0.1", rampart.Port);
            using var stream = new NetworkStream(socket);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            for (int r = 0; r < rounds && DateTime.UtcNow < deadline; r++)
            {
                string key = $"c{c}:r{r}";
                string value = $"v-{c}-{r}-{Guid.NewGuid():N}";
                string request = Resp("SET", key, value) + Resp("GET", key) + Resp("ECHO", value) + Resp("GET", key);
                await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
                Assert.Equal("+OK", await reader.ReadLineAsync());
                Assert.Equal($"${value.Length}", await reader.ReadLineAsync());
                Assert.Equal(value, await reader.ReadLineAsync());
                Assert.Equal($"${value.Length}", await reader.ReadLineAsync());
                Assert.Equal(value, await reader.ReadLineAsync());
                Assert.Equal($"${value.Length}", await reader.ReadLineAsync());
                Assert.Equal(value, await reader.ReadLineAsync());
            }
        })).ToArray();
        await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task ManyMultiplexedCallers_ValuesNeverCross()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var mux = await ConnectionMultiplexer.ConnectAsync(rampart.Endpoint);
        var db = mux.GetDatabase();
        var tasks = Enumerable.Range(0, 200).Select(async c =>
        {
            for (int i = 0; i < 100; i++)
            {
                string key = $"m{c}:{i}";
                string value = $"{c}:{i}:{Guid.NewGuid():N}";
                var set = db.StringSetAsync(key, value);
                var get = db.StringGetAsync(key);
                await set;
                Assert.Equal(value, (string?)await get);
            }
        });
        await Task.WhenAll(tasks);
    }

    internal static string Resp(params string[] args)
    {
        var sb = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return sb.ToString();
    }
}
