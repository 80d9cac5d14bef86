using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>A RESP3 client through a pool of four shards.</summary>
public sealed class Resp3ShardedTests(FourShardFixture fixture) : Resp3SplitTests(fixture), IClassFixture<FourShardFixture>;

/// <summary>A RESP3 client through a cluster pool of three masters (whose INFO says cluster: a one-node cluster).</summary>
public sealed class Resp3ClusterTests(ClusterPoolFixture fixture) : Resp3SplitTests(fixture, "cluster"), IClassFixture<ClusterPoolFixture>;

/// <summary>
/// A RESP3 client (HELLO 3) through a pool of several servers: what Rampart splits, fans out and merges comes back in
/// RESP3's types, as one Redis would answer a RESP3 client (RESP3 nulls inside MGET, INFO as a verbatim string,
/// FUNCTION LIST's maps).
/// </summary>
public abstract class Resp3SplitTests(IProxiedPool fixture, string mode = "standalone")
{
    /// <summary>At least one key per server, and at least eight keys.</summary>
    private string[] KeysOnEveryServer(string prefix) =>
        [.. fixture.KeysOnEveryServer($"resp3:{prefix}"), .. Enumerable.Range(0, 8).Select(_ => $"resp3:{prefix}:{Guid.NewGuid():N}")];

    [Fact]
    public void SplitCommands_MergeInResp3()
    {
        using var client = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        var keys = KeysOnEveryServer("split");
        var present = keys.Where((_, i) => i % 2 == 0).ToArray();
        string[] mset = ["MSET", .. present.SelectMany(k => new[] { k, "v:" + k })];
        Assert.Equal("+OK\r\n", client.Call(mset));

        var expected = new StringBuilder($"*{keys.Length}\r\n");
        foreach (var (key, i) in keys.Select((k, i) => (k, i)))
            expected.Append(i % 2 == 0 ? $"${key.Length + 2}\r\nv:{key}\r\n" : "_\r\n");
        Assert.Equal(expected.ToString(), client.Call(["MGET", .. keys]));
        Assert.Equal($":{present.Length}\r\n", client.Call(["EXISTS", .. keys]));
        Assert.Equal($":{present.Length}\r\n", client.Call(["TOUCH", .. keys]));
        Assert.Equal($":{present.Length}\r\n", client.Call(["DEL", .. keys]));
        Assert.Equal(":0\r\n", client.Call(["UNLINK", .. keys]));

        long direct = fixture.Servers.Sum(s => long.Parse(s.Send("DBSIZE\r\n").Trim()[1..]));
        Assert.Equal($":{direct}\r\n", client.Call("DBSIZE"));
    }

    [Fact]
    public void Info_IsAVerbatimString_OfWhatEveryServerShares()
    {
        using var client = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        using var direct = Resp3Client.ConnectResp3(fixture.Servers[0].Port);
        string merged = client.Call("INFO", "server");
        Assert.Equal(Resp3Client.Shape(direct.Call("INFO", "server")), Resp3Client.Shape(merged));
        Assert.StartsWith("txt:# Server\r\n", merged[(merged.IndexOf('\n') + 1)..]);
        Assert.Contains("\r\nredis_version:", merged);
        Assert.Contains($"\r\nredis_mode:{mode}\r\n", merged);
        Assert.DoesNotContain("tcp_port:", merged); // each server's own: left out
        int declared = int.Parse(merged[1..merged.IndexOf('\r')]);
        Assert.Equal(Encoding.UTF8.GetByteCount(merged) - merged.IndexOf('\n') - 3, declared);
    }

    [Fact]
    public void ScriptsAndFunctions_FannedOut_AnswerInResp3()
    {
        using var client = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        using var direct = Resp3Client.ConnectResp3(fixture.Servers[^1].Port);
        string script = $"return '{Guid.NewGuid():N}'";
        string load = client.Call("SCRIPT", "LOAD", script);
        Assert.StartsWith("$40\r\n", load);
        string sha = load[5..45];
        Assert.Equal("*2\r\n:1\r\n:0\r\n", client.Call("SCRIPT", "EXISTS", sha, new string('0', 40)));
        Assert.Equal("*1\r\n:1\r\n", direct.Call("SCRIPT", "EXISTS", sha));

        string library = $"resp3lib{Guid.NewGuid():N}";
        string code = $"#!lua name={library}\nredis.register_function('{library}_f', function(keys, args) return 1 end)";
        Assert.Equal($"${library.Length}\r\n{library}\r\n", client.Call("FUNCTION", "LOAD", code));
        string list = client.Call("FUNCTION", "LIST", "LIBRARYNAME", library);
        Assert.StartsWith("*1\r\n%3\r\n", list);
        Assert.Equal(direct.Call("FUNCTION", "LIST", "LIBRARYNAME", library), list);
        Assert.Equal("+OK\r\n", client.Call("FUNCTION", "DELETE", library));
    }

    [Fact]
    public void ForwardedReplies_KeepResp3Types()
    {
        using var client = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        string h = $"resp3:h:{Guid.NewGuid():N}", s = $"resp3:s:{Guid.NewGuid():N}", z = $"resp3:z:{Guid.NewGuid():N}";
        Assert.Equal(":1\r\n", client.Call("HSET", h, "f", "v"));
        Assert.Equal("%1\r\n$1\r\nf\r\n$1\r\nv\r\n", client.Call("HGETALL", h));
        Assert.Equal(":1\r\n", client.Call("SADD", s, "m"));
        Assert.Equal("~1\r\n$1\r\nm\r\n", client.Call("SMEMBERS", s));
        Assert.Equal(":1\r\n", client.Call("ZADD", z, "1.5", "m"));
        Assert.Equal(",1.5\r\n", client.Call("ZSCORE", z, "m"));
        Assert.Equal(":3\r\n", client.Call("DEL", h, s, z));
    }
}
