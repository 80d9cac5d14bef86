using System.Net.Sockets;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Backends;

/// <summary>What a shared server connection does with bytes it cannot take as a reply.</summary>
public sealed class ServerLinkFaultTests
{
    [Fact]
    public async Task GoodRepliesThenGarbageInOneRead_EveryAnsweredClientGetsItsReplyAtOnce_TheRestAnError()
    {
        using var redis = RedisServerProcess.Start();
        using var relay = new FaultRelay(redis.Port);
        var pool = new PoolConfig
        {
            Name = "relayed",
            Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
            Servers = [new ServerConfig { Host = "127.0.0.1", Port = relay.Port, Weight = 1, Name = "s0" }],
        };
        // One loop, so every client shares the one server connection the garbage arrives on.
        await using var rampart = await RampartUnderTest.StartAsync(pool, eventLoops: 1);

        const int clients = 30;
        var values = Enumerable.Range(0, clients).Select(i => $"value-{i}-{Guid.NewGuid():N}").ToArray();
        for (int i = 0; i < clients; i++) redis.Send(RespText.Command("SET", $"k{i}", values[i]));

        var sockets = Enumerable.Range(0, clients).Select(_ => new RawClient(rampart.Port)).ToArray();
        try
        {
            // Rampart answers PING itself: a forwarded command brings the server connection up (and leaves it idle).
            sockets[0].Send(RespText.Command("EXISTS", "warm-up"));
            Assert.Equal(":0", sockets[0].ReadLine());

            relay.AppendToNextReply("\0not a reply\r\n"u8.ToArray());
            for (int i = 0; i < clients; i++) sockets[i].Send(RespText.Command("GET", $"k{i}"));

            int answered = 0;
            for (int i = 0; i < clients; i++)
            {
                sockets[i].Socket.ReceiveTimeout = 3000; // held back replies would sit until the client sent again
                string first = ReadOrTimeout(sockets[i]);
                if (first.StartsWith('$'))
                {
                    Assert.Equal($"${values[i].Length}", first);
                    Assert.Equal(values[i], sockets[i].ReadLine());
                    answered++;
                }
                else
                {
                    Assert.StartsWith($"-ERR rampart: connection to server s0 (127.0.0.1:{relay.Port}) lost", first);
                }
            }
            // The read that carried the garbage also carried replies: those clients are the ones that were held back.
            Assert.True(answered > 0, "no reply arrived before the garbage; the test did not exercise the fault");
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
    }

    [Fact]
    public async Task ReplyNestedThousandsDeep_PassesUnchanged_AndOtherClientsOnTheConnectionAreUndisturbed()
    {
        // A Lua table that contains itself: Redis answers with arrays nested about 8,000 deep. A reply Redis may send
        // must never be taken for garbage, which would drop the shared connection and fail everyone's requests on it.
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis), eventLoops: 1);
        string eval = RespText.Command("EVAL", "local a = {}; local b = {a}; a[1] = b; return a", "0");
        var direct = RawClient.ExchangeOnce(redis.Port, System.Text.Encoding.ASCII.GetBytes(eval), TimeSpan.FromMilliseconds(500)).Received;
        Assert.StartsWith(string.Concat(Enumerable.Repeat("*1\r\n", 300)), direct);

        using var stop = new CancellationTokenSource();
        var others = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            using var client = new RawClient(rampart.Port);
            int rounds = 0;
            for (; rounds < 50_000 && !stop.IsCancellationRequested; rounds++)
            {
                string value = $"{c}-{rounds}";
                client.Send(RespText.Command("SET", $"other{c}", value) + RespText.Command("GET", $"other{c}"));
                Assert.Equal("+OK", client.ReadLine());
                Assert.Equal($"${value.Length}", client.ReadLine());
                Assert.Equal(value, client.ReadLine());
                if (rounds % 64 == 0) await Task.Yield();
            }
            return rounds;
        })).ToArray();

        using var deep = new RawClient(rampart.Port);
        for (int i = 0; i < 20; i++)
        {
            deep.Send(eval);
            Assert.Equal(direct, deep.ReadExactly(direct.Length));
        }
        stop.Cancel();
        foreach (var other in others) Assert.True(await other > 0);
    }

    private static string ReadOrTimeout(RawClient client)
    {
        try
        {
            return client.ReadLine();
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
        {
            return "(no reply within 3 s)";
        }
    }
}
