using System.Net.Sockets;
using System.Text;
using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.EndToEnd;

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
                string request = RespText.Command("SET", key, value) + RespText.Command("GET", key) + RespText.Command("ECHO", value) + RespText.Command("GET", key);
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

    [Fact]
    public async Task AClientFloodingAPipeline_LeavesTheOthersTheirOwnReplies()
    {
        // One client writes 40 MB of pipelined SETs as fast as the socket takes them (every read of it fills the
        // proxy's buffer, so it is read again turn after turn) while 20 others run their own SET/GET/ECHO rounds.
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        const int floodCommands = 20_000;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string payload = new('x', 2000);

        var flood = Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync("127.0.0.1", rampart.Port);
            using var stream = new NetworkStream(socket);
            var writing = Task.Run(async () =>
            {
                var batch = new StringBuilder();
                for (int i = 0; i < floodCommands; i++)
                {
                    batch.Append(RespText.Command("SET", $"flood:{i}", payload));
                    if (batch.Length < 256 * 1024 && i < floodCommands - 1) continue;
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(batch.ToString()));
                    batch.Clear();
                }
            });
            using var reader = new StreamReader(stream, Encoding.ASCII);
            for (int i = 0; i < floodCommands; i++) Assert.Equal("+OK", await reader.ReadLineAsync());
            await writing;
        });

        var others = Enumerable.Range(0, 20).Select(c => Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync("127.0.0.1", rampart.Port);
            using var stream = new NetworkStream(socket);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            for (int r = 0; r < 200 && DateTime.UtcNow < deadline; r++)
            {
                string key = $"other{c}:r{r}";
                string value = $"v-{c}-{r}-{Guid.NewGuid():N}";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(RespText.Command("SET", key, value) + RespText.Command("GET", key) + RespText.Command("ECHO", value)));
                Assert.Equal("+OK", await reader.ReadLineAsync());
                for (int reply = 0; reply < 2; reply++)
                {
                    Assert.Equal($"${value.Length}", await reader.ReadLineAsync());
                    Assert.Equal(value, await reader.ReadLineAsync());
                }
            }
        })).ToArray();

        await Task.WhenAll(others.Append(flood)).WaitAsync(TimeSpan.FromSeconds(90));
        using var check = new RawClient(rampart.Port);
        check.Send(RespText.Command("GET", $"flood:{floodCommands - 1}"));
        Assert.Equal($"${payload.Length}", check.ReadLine());
        Assert.Equal(payload, check.ReadLine());
    }

}
