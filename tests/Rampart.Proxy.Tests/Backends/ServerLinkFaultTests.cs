using System.Net.Sockets;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Integration.ConcurrencyTests;

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
        for (int i = 0; i < clients; i++) redis.Send(Resp("SET", $"k{i}", values[i]));

        var sockets = Enumerable.Range(0, clients).Select(_ => new RawClient(rampart.Port)).ToArray();
        try
        {
            // Rampart answers PING itself: a forwarded command brings the server connection up (and leaves it idle).
            sockets[0].Send(Resp("EXISTS", "warm-up"));
            Assert.Equal(":0", sockets[0].ReadLine());

            relay.AppendToNextReply("\0not a reply\r\n"u8.ToArray());
            for (int i = 0; i < clients; i++) sockets[i].Send(Resp("GET", $"k{i}"));

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
                    Assert.StartsWith($"-ERR rampart: connection to server 127.0.0.1:{relay.Port} lost", first);
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
