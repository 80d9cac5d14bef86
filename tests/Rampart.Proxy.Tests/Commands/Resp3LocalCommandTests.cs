using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>
/// After HELLO 3, every command Rampart answers itself (and a few it forwards) compared with what a real Redis 7.0
/// answers a RESP3 client for the same bytes: the same types (maps, verbatim strings, RESP3 nulls, pushes), and the
/// same bytes where the answer is not about the connection (ids, addresses, ages differ).
/// </summary>
public sealed class Resp3LocalCommandTests(ProxiedRedisFixture fixture) : IClassFixture<ProxiedRedisFixture>
{
    private static string[] Both(int port, string[][] commands)
    {
        using var client = Resp3Client.ConnectResp3(port);
        return commands.Select(c => client.Call(c)).ToArray();
    }

    [Theory]
    [InlineData("HELLO|3", false)]
    [InlineData("HELLO", false)]
    [InlineData("HELLO|3|SETNAME|app", false)]
    [InlineData("HELLO|3|AUTH|default|anything", false)]
    [InlineData("HELLO|4", true)]
    [InlineData("HELLO|x", true)]
    [InlineData("HELLO|3|SETNAME|has space", true)]
    [InlineData("PING", true)]
    [InlineData("PING|hello", true)]
    [InlineData("ECHO|x y", true)]
    [InlineData("CLIENT|GETNAME", true)]
    [InlineData("CLIENT|SETNAME|app", true)]
    [InlineData("CLIENT|ID", false)]
    [InlineData("CLIENT|INFO", false)]
    [InlineData("CLIENT|LIST", false)]
    [InlineData("CLIENT|LIST|TYPE|master", true)]
    [InlineData("CLIENT|LIST|ID|0", true)]
    [InlineData("CLIENT|KILL|ID|99999999", true)]
    [InlineData("CLIENT|KILL|1.2.3.4:5", true)]
    [InlineData("CLIENT|NO-EVICT|on", true)]
    [InlineData("CLIENT|REPLY|ON", true)]
    [InlineData("SELECT|0", true)]
    [InlineData("AUTH|default|anything", true)]
    [InlineData("COMMAND|COUNT", true)]
    [InlineData("ACL|WHOAMI", true)]
    [InlineData("UNSUBSCRIBE", true)]
    [InlineData("PUNSUBSCRIBE", true)]
    [InlineData("SUNSUBSCRIBE|a|b", true)]
    [InlineData("UNWATCH", true)]
    [InlineData("EXEC", true)]
    [InlineData("DISCARD", true)]
    [InlineData("NOSUCHCOMMAND|a", true)]
    // Forwarded to the one server over a connection that said HELLO 3: Redis's own RESP3 types pass through.
    [InlineData("CONFIG|GET|maxmemory", true)]
    [InlineData("INFO|keyspace", false)]
    [InlineData("GET|resp3:missing", true)]
    [InlineData("MGET|resp3:missing:a|resp3:missing:b", true)]
    [InlineData("BLPOP|resp3:missing|0.01", true)]
    public void AfterHello3_ReplyHasWhatRedisAnswers(string command, bool exact)
    {
        string[] args = command.Split('|');
        string redis = Both(fixture.Redis.Port, [args])[0];
        string rampart = Both(fixture.Rampart.Port, [args])[0];
        Assert.Equal(Resp3Client.Shape(redis), Resp3Client.Shape(rampart));
        if (exact) Assert.Equal(redis, rampart);
        else if (args[0] == "HELLO") Assert.Equal(Resp3Client.MaskId(redis), Resp3Client.MaskId(rampart));
    }

    [Fact]
    public void Hello3_IsRedisOwnMap_WithProto3()
    {
        using var client = Resp3Client.Connect(fixture.Rampart.Port);
        string hello = client.Call("HELLO", "3");
        string version = fixture.Redis.Send("INFO server\r\n").Split("\r\n").First(l => l.StartsWith("redis_version:"))["redis_version:".Length..];
        Assert.Equal("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n" + $"${version.Length}\r\n{version}\r\n"
            + "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:ID\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
            Resp3Client.MaskId(hello));
        Assert.EndsWith(" resp=3\n\r\n", client.Call("CLIENT", "INFO"));
    }

    [Fact]
    public void ProtocolChanges_HelloAndReset_AsRedisDoes()
    {
        // HELLO 3, HELLO 2 (back to arrays and $-1), HELLO 3, HELLO without a version (keeps 3), RESET (back to 2).
        string[][] steps =
        [
            ["GET", "resp3:none"], ["HELLO", "2"], ["GET", "resp3:none"], ["CLIENT", "GETNAME"], ["HELLO", "3"],
            ["HELLO"], ["GET", "resp3:none"], ["RESET"], ["GET", "resp3:none"], ["CLIENT", "GETNAME"], ["HELLO", "3"],
            ["CLIENT", "GETNAME"],
        ];
        var redis = Both(fixture.Redis.Port, steps).Select(Resp3Client.MaskId).ToArray();
        var rampart = Both(fixture.Rampart.Port, steps).Select(Resp3Client.MaskId).ToArray();
        Assert.Equal(redis, rampart);
        Assert.Equal("_\r\n", rampart[0]);
        Assert.Equal("$-1\r\n", rampart[2]);
        Assert.Equal("$-1\r\n", rampart[8]);
    }

    /// <summary>
    /// A client that switches protocol mid-pipeline: the requests before the switch travel on a RESP2 server connection
    /// and those after on a RESP3 one, yet Redis runs them in the order sent (each write is seen by the next read) and
    /// the replies come back in that order, each in its protocol.
    /// </summary>
    [Fact]
    public void ProtocolSwitch_MidPipeline_KeepsRunOrderAndReplyOrder()
    {
        using var client = Resp3Client.Connect(fixture.Rampart.Port);
        for (int round = 0; round < 30; round++)
        {
            string key = $"resp3:switch:{Guid.NewGuid():N}";
            var pipeline = new MemoryStream();
            foreach (var command in (string[][])
                     [["SET", key, "1"], ["HELLO", "3"], ["INCR", key], ["GET", key], ["HELLO", "2"], ["INCR", key], ["GET", key], ["GET", key + ":none"]])
                pipeline.Write(RespTestClient.Command(command));
            client.SendRaw(pipeline.ToArray());
            Assert.Equal("+OK\r\n", client.Read());
            Assert.StartsWith("%7\r\n", client.Read());
            Assert.Equal(":2\r\n", client.Read());
            Assert.Equal("$1\r\n2\r\n", client.Read());
            Assert.StartsWith("*14\r\n", client.Read());
            Assert.Equal(":3\r\n", client.Read());
            Assert.Equal("$1\r\n3\r\n", client.Read());
            Assert.Equal("$-1\r\n", client.Read());
        }
    }

    [Fact]
    public void ResetWhileResp3_ThenGet_GetsResp2Null()
    {
        using var client = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        Assert.Equal("_\r\n", client.Call("GET", "resp3:none"));
        Assert.Equal("+RESET\r\n", client.Call("RESET"));
        Assert.Equal("$-1\r\n", client.Call("GET", "resp3:none"));
    }

    [Fact]
    public void SharedServerConnections_OfTheResp3Lane_SaidHello3ToTheServer()
    {
        using (var client = Resp3Client.ConnectResp3(fixture.Rampart.Port)) Assert.Equal("_\r\n", client.Call("GET", "resp3:none"));
        using var direct = Resp3Client.Connect(fixture.Redis.Port);
        string list = direct.Call("CLIENT", "LIST");
        var rampartLines = list.Split('\n').Where(l => l.Contains(" name=rampart ")).ToList();
        Assert.Contains(rampartLines, l => l.EndsWith(" resp=3"));
        Assert.Contains(rampartLines, l => l.EndsWith(" resp=2"));
    }
}
