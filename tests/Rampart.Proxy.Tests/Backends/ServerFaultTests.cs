using System.Net.Sockets;
using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Backends;

/// <summary>Real server faults: kill -9 mid-pipeline, a frozen server, a server that is not there.</summary>
public sealed class ServerFaultTests
{
    [Fact]
    public async Task ServerKilledMidPipeline_ClientsGetErrorsNeverWrongReplies_AndRampartRecovers()
    {
        var redis = RedisServerProcess.Start();
        int redisPort = redis.Port;
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int errors = 0, ok = 0;

        var clients = Enumerable.Range(0, 20).Select(c => Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync("127.0.0.1", rampart.Port);
            using var stream = new NetworkStream(socket);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            for (int i = 0; i < 400 && !stop.IsCancellationRequested; i++)
            {
                string value = $"c{c}-{i}-{Guid.NewGuid():N}";
                var batch = new StringBuilder();
                for (int j = 0; j < 10; j++) batch.Append(RespText.Command("ECHO", $"{value}-{j}")).Append(RespText.Command("SET", $"k:{value}:{j}", value));
                await stream.WriteAsync(Encoding.ASCII.GetBytes(batch.ToString()), stop.Token);
                for (int j = 0; j < 10; j++)
                {
                    // ECHO is answered by Rampart itself: it must stay in order even around server errors.
                    Assert.Equal($"${value.Length + 1 + j.ToString().Length}", await reader.ReadLineAsync());
                    Assert.Equal($"{value}-{j}", await reader.ReadLineAsync());
                    string? reply = await reader.ReadLineAsync();
                    if (reply == "+OK") Interlocked.Increment(ref ok);
                    else
                    {
                        Assert.StartsWith("-ERR rampart: ", reply);
                        Interlocked.Increment(ref errors);
                    }
                }
            }
        })).ToArray();

        await Task.Delay(300);
        redis.Kill();
        await Task.Delay(300);
        using var revived = RedisServerProcess.StartOn(redisPort);
        await Task.WhenAll(clients);
        redis.Dispose();

        Assert.True(errors > 0, "killing the server produced no errors: the test did not hit the fault");
        Assert.True(ok > 0);
        // Recovered: new requests succeed on the revived server, within the reconnect backoff.
        using var after = new RawClient(rampart.Port);
        Assert.Equal("+OK", await after.RepeatUntilAsync(RespText.Command("SET", "after", "1"), "+OK", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task FrozenServer_RequestTimesOut_ThenServesAgainAfterThaw()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { TimeoutMs = 300 });
        using var client = new RawClient(rampart.Port);
        client.AssertStillServes();

        redis.Freeze();
        try
        {
            var started = DateTime.UtcNow;
            client.Send(RespText.Command("GET", "frozen"));
            Assert.Equal("-ERR timeout", client.ReadLine());
            var waited = DateTime.UtcNow - started;
            Assert.InRange(waited.TotalMilliseconds, 250, 5000);
        }
        finally
        {
            redis.Thaw();
        }
        // Same client connection, new server connection behind it.
        Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "thawed", "1"), "+OK", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ServerThatAcceptsButNeverAnswersTheHandshake_FailsWithinTheTimeout_ThenServes()
    {
        // The kernel completes a frozen server's TCP handshake; only Rampart's own (AUTH, SETNAME, INFO) goes unanswered.
        using var redis = RedisServerProcess.Start();
        redis.Freeze();
        try
        {
            await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { TimeoutMs = 300 });
            using var client = new RawClient(rampart.Port);
            var started = DateTime.UtcNow;
            client.Send(RespText.Command("GET", "x"));
            Assert.Equal($"-ERR rampart: server s0 (127.0.0.1:{redis.Port}) unavailable: connect timed out", client.ReadLine());
            Assert.InRange((DateTime.UtcNow - started).TotalMilliseconds, 250, 5000);
            client.Send(RespText.Command("PING"));
            Assert.Equal("+PONG", client.ReadLine());

            redis.Thaw();
            Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "answered", "1"), "+OK", TimeSpan.FromSeconds(10)));
        }
        finally
        {
            redis.Thaw();
        }
    }

    [Fact]
    public async Task ServerNotRunning_RequestFailsFastWithClearError()
    {
        int deadPort = FreePort.Next();
        var pool = RampartUnderTest.Pool() with
        {
            Servers = [new Rampart.Proxy.Configuration.ServerConfig { Host = "127.0.0.1", Port = deadPort, Weight = 1 }],
        };
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        using var client = new RawClient(rampart.Port);
        var started = DateTime.UtcNow;
        client.Send(RespText.Command("GET", "x"));
        string reply = client.ReadLine();
        Assert.StartsWith($"-ERR rampart: server 127.0.0.1:{deadPort} unavailable", reply);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3));
        client.Send(RespText.Command("PING"));
        Assert.Equal("+PONG", client.ReadLine());
    }
}
