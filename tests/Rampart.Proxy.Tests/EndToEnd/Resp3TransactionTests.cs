using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.EndToEnd;

/// <summary>One server behind Rampart: dedicated connections are kept per protocol and reused.</summary>
public sealed class Resp3SingleServerTransactionTests(ProxiedRedisFixture fixture) : Resp3TransactionTests(fixture), IClassFixture<ProxiedRedisFixture>
{
    [Fact]
    public async Task DedicatedConnections_KeepTheirProtocol_WhenReused()
    {
        // (Redis 7.0 answers a RESP2 client's EXEC element null as $-1 and a RESP3 client's as _.)
        string[][] steps(string k) => [["MULTI"], ["GET", k], ["EXEC"]];
        var pinned = fixture.Rampart.Server.GetPool("test").Routing.Default.Pinned;
        for (int round = 0; round < 3; round++)
        {
            Assert.Equal(["+OK\r\n", "+QUEUED\r\n", "*1\r\n_\r\n"], Run(fixture.Rampart.Port, resp3: true, steps, $"resp3:none:{round}"));
            Assert.Equal(["+OK\r\n", "+QUEUED\r\n", "*1\r\n$-1\r\n"], Run(fixture.Rampart.Port, resp3: false, steps, $"resp3:none:{round}"));
        }
        await WaitUntilAsync(() => pinned.Idle >= 2, TimeSpan.FromSeconds(5));
        long opened = pinned.Opened;
        Assert.Equal(["+OK\r\n", "+QUEUED\r\n", "*1\r\n_\r\n"], Run(fixture.Rampart.Port, resp3: true, steps, "resp3:none:again"));
        Assert.Equal(["+OK\r\n", "+QUEUED\r\n", "*1\r\n$-1\r\n"], Run(fixture.Rampart.Port, resp3: false, steps, "resp3:none:again"));
        Assert.Equal(opened, pinned.Opened); // both reused an idle connection of their own protocol
    }
}

/// <summary>A cluster pool: each transaction's keys share a hash tag, compared with the master serving their slot.</summary>
public sealed class Resp3ClusterTransactionTests(ClusterPoolFixture fixture) : Resp3TransactionTests(fixture), IClassFixture<ClusterPoolFixture>;

/// <summary>
/// Transactions, WATCH and blocking calls for a client that said HELLO 3, compared byte for byte with the real Redis
/// that stores their keys answering a RESP3 client: whole pipelined transactions on the RESP3 lane, one-at-a-time ones
/// and blocking calls on RESP3 dedicated connections. Each test's keys share a hash tag, so they live on one server
/// (and in one slot) in any pool.
/// </summary>
public abstract class Resp3TransactionTests(IProxiedPool fixture)
{
    /// <summary>A fresh hash-tagged key: anything appended to it stays in its slot.</summary>
    private static string TaggedKey(string name) => $"{{resp3:{name}:{Guid.NewGuid():N}}}";

    protected static string[] Run(int port, bool resp3, Func<string, string[][]> steps, string key)
    {
        using var client = resp3 ? Resp3Client.ConnectResp3(port) : Resp3Client.Connect(port);
        return steps(key).Select(c => client.Call(c)).ToArray();
    }

    private static string[] Pipelined(int port, string[][] commands)
    {
        using var client = Resp3Client.ConnectResp3(port);
        client.SendRaw(commands.SelectMany(c => RespTestClient.Command(c)).ToArray());
        return commands.Select(_ => client.Read()).ToArray();
    }

    private void AssertSameAsRedis(Func<string, string[][]> steps, bool resp3 = true)
    {
        string key = TaggedKey("tx");
        var redis = Run(fixture.OwnerOf(key).Port, resp3, steps, key + ":d");
        var rampart = Run(fixture.Rampart.Port, resp3, steps, key + ":p");
        Assert.Equal(redis, rampart.Select(r => r.Replace(key + ":p", key + ":d"))); // same server: keys of their own
    }

    [Fact]
    public void WholeTransaction_PipelinedInOneWrite_AnswersInResp3()
    {
        string key = TaggedKey("whole");
        string[][] commands(string k) => [["MULTI"], ["SET", k, "v"], ["GET", k + ":none"], ["HSET", k + ":h", "f", "1"], ["HGETALL", k + ":h"], ["EXEC"]];
        var redis = Pipelined(fixture.OwnerOf(key).Port, commands(key + ":d"));
        var rampart = Pipelined(fixture.Rampart.Port, commands(key + ":p"));
        Assert.Equal(redis, rampart);
        Assert.Equal("*4\r\n+OK\r\n_\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\n1\r\n", rampart[^1]);
    }

    [Fact]
    public void TransactionOneCommandAtATime_OnADedicatedConnection_AnswersInResp3() =>
        AssertSameAsRedis(k => [["MULTI"], ["GET", k], ["INCR", k], ["SMEMBERS", k + ":s"], ["EXEC"], ["GET", k]]);

    [Fact]
    public void WatchedKeyChanged_ExecAnswersResp3Null()
    {
        foreach (bool direct in new[] { true, false })
        {
            string key = TaggedKey("watch");
            int port = direct ? fixture.OwnerOf(key).Port : fixture.Rampart.Port;
            using var client = Resp3Client.ConnectResp3(port);
            using var other = Resp3Client.ConnectResp3(port);
            Assert.Equal("+OK\r\n", client.Call("WATCH", key));
            Assert.Equal("+OK\r\n", other.Call("SET", key, "theirs"));
            Assert.Equal("+OK\r\n", client.Call("MULTI"));
            Assert.Equal("+QUEUED\r\n", client.Call("SET", key, "mine"));
            Assert.Equal("_\r\n", client.Call("EXEC"));
            Assert.Equal("$6\r\ntheirs\r\n", client.Call("GET", key));
        }
    }

    [Fact]
    public void BlockingCalls_AnswerInResp3() =>
        AssertSameAsRedis(k => [["BLPOP", k, "0.05"], ["RPUSH", k, "a"], ["BLPOP", k, "1"], ["BZPOPMIN", k + ":z", "0.05"], ["XREAD", "BLOCK", "50", "STREAMS", k + ":x", "$"]]);

    [Fact]
    public void HelloChangingProtocol_WhileHoldingADedicatedConnection_IsRefusedWithTheReason()
    {
        using var client = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        string key = TaggedKey("hold");
        Assert.Equal("+OK\r\n", client.Call("WATCH", key));
        Assert.StartsWith("-ERR rampart: HELLO cannot change the protocol while this client holds a dedicated connection", client.Call("HELLO", "2"));
        Assert.StartsWith("%7\r\n", client.Call("HELLO", "3"));
        Assert.Equal("+OK\r\n", client.Call("UNWATCH"));
        Assert.StartsWith("*14\r\n", client.Call("HELLO", "2"));
        Assert.Equal("$-1\r\n", client.Call("GET", key));
    }
}
