using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;

namespace Rampart.Proxy.Tests.Replicas;

/// <summary>
/// <c>min_replicas_ack</c> beyond single commands, against a real master and replica: a transaction (sent whole, or
/// command by command on a dedicated connection after WATCH), a script that may write, and a write whose reply is
/// larger than the streaming threshold are answered only once the replica has them; with the replica stopped
/// (SIGSTOP) they get NOREPLICAS, EXEC's whole reply included, while reads, read-only scripts and transactions a WATCH
/// aborted (nothing ran) are not held.
/// </summary>
public sealed class DurableTransactionTests
{
    private const string Short = "-NOREPLICAS rampart: write reached 0 of 1 replicas"; // within ack_timeout, or known short

    /// <summary>A master, its replica and Rampart with min_replicas_ack: 1, and connections to each of them.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        public required ReplicatedRedis Redis { get; init; }
        public required RampartUnderTest Rampart { get; init; }
        public required RespTestClient Client { get; init; }
        public required RespTestClient Replica { get; init; }
        public required RespTestClient Master { get; init; }

        public static async Task<Setup> StartAsync(long outputBuffer = 64L * 1024 * 1024)
        {
            var redis = ReplicatedRedis.Start(replicas: 1);
            var rampart = await RampartUnderTest.StartAsync(redis.Pool(ReadFrom.Master) with
            {
                MinReplicasAck = 1, AckTimeoutMs = 300, ClientOutputBufferLimit = outputBuffer,
            });
            return new Setup
            {
                Redis = redis, Rampart = rampart, Client = RespTestClient.ConnectTcp(rampart.Port),
                Replica = RespTestClient.ConnectTcp(redis.Replicas[0].Port), Master = RespTestClient.ConnectTcp(redis.Master.Port),
            };
        }

        /// <summary>SIGSTOPs the replica until the result is disposed (SIGCONT).</summary>
        public IDisposable StopReplica()
        {
            Redis.Replicas[0].Freeze();
            return new Thaw(Redis.Replicas[0]);
        }

        private sealed class Thaw(RedisServerProcess replica) : IDisposable
        {
            public void Dispose() => replica.Thaw();
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            Replica.Dispose();
            Master.Dispose();
            await Rampart.DisposeAsync();
            Redis.Dispose();
        }
    }

    [Fact]
    public async Task AWholeTransaction_IsAnsweredOnceTheReplicaHasIt_AndItsExecGetsNoReplicasWhenTheReplicaIsStopped()
    {
        await using var setup = await Setup.StartAsync();
        var (redis, client, replica, master) = (setup.Redis, setup.Client, setup.Replica, setup.Master);
        ReplicatedRedis.ResetStats(redis.Master);

        for (int i = 0; i < 20; i++)
        {
            client.Send([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("SET", "tx:k", $"v{i}"),
                .. RespTestClient.Command("INCR", "tx:n"), .. RespTestClient.Command("EXEC")]);
            Assert.Equal("OK", Replies.Text(client.ReadReply()));
            Assert.Equal("QUEUED", Replies.Text(client.ReadReply()));
            Assert.Equal("QUEUED", Replies.Text(client.ReadReply()));
            Assert.Equal(["OK", $"{i + 1}"], Replies.Array(client.ReadReply()));
            Assert.Equal($"v{i}", replica.Ask("GET", "tx:k")); // no WAIT of our own: Rampart's came first
        }
        Assert.True(ReplicatedRedis.Calls(redis.Master, "wait") >= 20);

        using (setup.StopReplica())
        {
            client.Send([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("SET", "tx:k", "unconfirmed"), .. RespTestClient.Command("EXEC")]);
            Assert.Equal("OK", Replies.Text(client.ReadReply()));
            Assert.Equal("QUEUED", Replies.Text(client.ReadReply()));
            Assert.StartsWith(Short, Replies.Text(client.ReadReply())); // EXEC's whole reply: it ran, but may not persist
            Assert.Equal("unconfirmed", master.Ask("GET", "tx:k"));
            Assert.Equal("unconfirmed", client.Ask("GET", "tx:k")); // a read is not held
        }
    }

    [Fact]
    public async Task APinnedTransaction_AfterWatch_GetsNoReplicasOnExec_AndAWatchAbortedOneIsNotHeld()
    {
        await using var setup = await Setup.StartAsync();
        var (client, replica, master) = (setup.Client, setup.Replica, setup.Master);

        Assert.Equal("OK", client.Ask("WATCH", "ptx:k"));
        Assert.Equal("OK", client.Ask("MULTI"));
        Assert.Equal("QUEUED", client.Ask("SET", "ptx:k", "confirmed"));
        Assert.Equal(["OK"], Replies.Array(client.Call("EXEC")));
        Assert.Equal("confirmed", replica.Ask("GET", "ptx:k"));

        using (setup.StopReplica())
        {
            Assert.Equal("OK", client.Ask("WATCH", "ptx:k"));
            Assert.Equal("OK", client.Ask("MULTI"));
            Assert.Equal("QUEUED", client.Ask("SET", "ptx:k", "unconfirmed"));
            Assert.StartsWith(Short, client.Ask("EXEC"));
            Assert.Equal("unconfirmed", master.Ask("GET", "ptx:k"));

            // A WATCHed key changed: EXEC ran nothing, so its null reply is not held for the replicas.
            Assert.Equal("OK", client.Ask("WATCH", "ptx:k"));
            Assert.Equal("OK", master.Ask("SET", "ptx:k", "changed"));
            Assert.Equal("OK", client.Ask("MULTI"));
            Assert.Equal("QUEUED", client.Ask("SET", "ptx:k", "never"));
            Assert.Null(client.Call("EXEC"));

            // A write between WATCH and MULTI goes on the dedicated connection, and is held there too.
            Assert.Equal("OK", client.Ask("WATCH", "ptx:k"));
            Assert.StartsWith(Short, client.Ask("SET", "ptx:other", "x"));
            Assert.Equal("OK", client.Ask("UNWATCH"));
        }
        Assert.Equal("changed", master.Ask("GET", "ptx:k"));
    }

    [Fact]
    public async Task AScriptThatMayWrite_IsHeld_AndAReadOnlyScriptIsNot()
    {
        await using var setup = await Setup.StartAsync();
        var (client, replica, master) = (setup.Client, setup.Replica, setup.Master);
        const string write = "redis.call('set', KEYS[1], ARGV[1]) return 1";
        const string read = "return redis.call('get', KEYS[1])";

        Assert.Equal("1", client.Ask("EVAL", write, "1", "script:k", "confirmed"));
        Assert.Equal("confirmed", replica.Ask("GET", "script:k"));

        using (setup.StopReplica())
        {
            Assert.StartsWith(Short, client.Ask("EVAL", write, "1", "script:k", "unconfirmed"));
            Assert.Equal("unconfirmed", client.Ask("EVAL_RO", read, "1", "script:k"));
            // A script error ran nothing durable to wait for: it is answered at once, as Redis sent it.
            Assert.StartsWith("-ERR", client.Ask("EVAL", "return redis.error_reply('ERR no')", "0"));
            // On a dedicated connection (a WATCH holds one) the same.
            Assert.Equal("OK", client.Ask("WATCH", "script:k"));
            Assert.StartsWith(Short, client.Ask("EVAL", write, "1", "script:k", "pinned"));
            Assert.Equal("OK", client.Ask("UNWATCH"));
        }
        Assert.Equal("pinned", master.Ask("GET", "script:k"));
    }

    [Fact]
    public async Task AWriteWithALargeReply_IsHeldWhole_NotStreamedBeforeItsAcknowledgement()
    {
        await using var setup = await Setup.StartAsync(outputBuffer: 4 * 1024 * 1024);
        var client = setup.Client;
        string large = new('x', 1024 * 1024); // far above the 64 KB streaming threshold
        Assert.Equal("OK", client.Ask("SET", "big:k", large));
        Assert.Equal(large, client.Ask("GETSET", "big:k", large + "y")); // acknowledged: the whole value

        using (setup.StopReplica())
        {
            // Not one byte of the value goes out before the WAIT answers: the client gets the error alone.
            Assert.StartsWith(Short, client.Ask("GETSET", "big:k", "small"));
            Assert.Equal("small", client.Ask("GET", "big:k"));
        }
    }

    [Fact]
    public async Task AHeldReplyLargerThanClientOutputBuffer_ClosesThatClientOnly()
    {
        await using var setup = await Setup.StartAsync(outputBuffer: 256 * 1024);
        var (client, master) = (setup.Client, setup.Master);
        using var other = RespTestClient.ConnectTcp(setup.Rampart.Port);
        Assert.Equal("OK", master.Ask("SET", "huge:k", new string('x', 1024 * 1024)));

        client.Send(RespTestClient.Command("GETDEL", "huge:k"));
        Assert.ThrowsAny<Exception>(() => client.ReadReply()); // closed, as Redis closes a client over its output limit
        Assert.Equal("PONG", other.Ask("PING"));
        Assert.Equal("OK", other.Ask("SET", "huge:after", "1"));
    }
}
