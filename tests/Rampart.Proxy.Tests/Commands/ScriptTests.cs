using System.Security.Cryptography;
using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>Scripts through a 3-server pool: keyless scripts run on the pool's designated (first) server.</summary>
public sealed class ShardedScriptTests(ShardedPoolFixture fixture) : ScriptTests(fixture), IClassFixture<ShardedPoolFixture>
{
    [Fact]
    public void Eval_WithNoKeys_RunsOnTheFirstServerOfThePool_EveryTime()
    {
        string marker = $"marker:{Guid.NewGuid():N}";
        for (int s = 0; s < fixture.Servers.Length; s++)
        {
            using var direct = RespTestClient.ConnectTcp(fixture.Servers[s].Port);
            Assert.Equal("OK", direct.Call("SET", marker, $"server{s}"));
        }
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        for (int i = 0; i < 5; i++)
            Assert.Equal("server0", client.CallText("EVAL", "return redis.call('GET', ARGV[1])", "0", marker));
    }
}

/// <summary>Scripts through a cluster pool: EVAL/FCALL go by the slot of their keys, management to every master.</summary>
public sealed class ClusterScriptTests(ClusterPoolFixture fixture) : ScriptTests(fixture), IClassFixture<ClusterPoolFixture>;

/// <summary>
/// Scripts and functions through a pool of several servers: EVAL*/FCALL* routed by their keys, SCRIPT and FUNCTION
/// management sent to every server with the replies merged.
/// </summary>
public abstract class ScriptTests(IProxiedPool fixture)
{
    private const string SetScript = "return redis.call('SET', KEYS[1], ARGV[1])";

    private RespTestClient Proxy() => RespTestClient.ConnectTcp(fixture.Rampart.Port);

    private RespTestClient Direct(int server) => RespTestClient.ConnectTcp(fixture.Servers[server].Port);

    private static string Sha1Hex(string script) =>
        Convert.ToHexString(SHA1.HashData(Encoding.UTF8.GetBytes(script))).ToLowerInvariant();

    [Fact]
    public void ScriptLoad_ThroughRampart_EvalshaThenWorksOnEveryShard()
    {
        string script = SetScript + " -- " + Guid.NewGuid().ToString("N");
        using var client = Proxy();
        Assert.Equal(Sha1Hex(script), client.CallText("SCRIPT", "LOAD", script));
        for (int s = 0; s < fixture.Servers.Count; s++)
        {
            using var direct = Direct(s);
            Assert.Equal(new object?[] { 1L }, direct.Call("SCRIPT", "EXISTS", Sha1Hex(script)));
        }
        var keys = fixture.KeysOnEveryServer("evalsha");
        for (int s = 0; s < keys.Length; s++)
        {
            Assert.Equal("OK", client.Call("EVALSHA", Sha1Hex(script), "1", keys[s], $"v{s}"));
            Assert.Equal($"v{s}", fixture.DirectGet(keys[s]));
        }
        string get = "return redis.call('GET', KEYS[1]) -- " + Guid.NewGuid().ToString("N");
        Assert.Equal(new RespError("NOSCRIPT No matching script. Please use EVAL."), client.Call("EVALSHA_RO", Sha1Hex(get), "1", keys[0]));
        client.Call("SCRIPT", "LOAD", get);
        for (int s = 0; s < keys.Length; s++) Assert.Equal($"v{s}", client.CallText("EVALSHA_RO", Sha1Hex(get), "1", keys[s]));
    }

    [Fact]
    public void ScriptExists_IsOneOnlyWhereTheScriptIsOnEveryShard()
    {
        string everywhere = "return 1 -- " + Guid.NewGuid().ToString("N");
        string partly = "return 2 -- " + Guid.NewGuid().ToString("N");
        string nowhere = "return 3 -- " + Guid.NewGuid().ToString("N");
        using var client = Proxy();
        client.Call("SCRIPT", "LOAD", everywhere);
        for (int s = 0; s < 2; s++)
        {
            using var direct = Direct(s);
            Assert.Equal(Sha1Hex(partly), direct.CallText("SCRIPT", "LOAD", partly));
        }
        var reply = client.Call("SCRIPT", "EXISTS", Sha1Hex(everywhere), Sha1Hex(partly), Sha1Hex(nowhere), Sha1Hex(everywhere));
        Assert.Equal(new object?[] { 1L, 0L, 0L, 1L }, reply);
    }

    [Fact]
    public void ScriptFlush_EmptiesTheScriptCacheOfEveryShard()
    {
        string script = "return 4 -- " + Guid.NewGuid().ToString("N");
        using var client = Proxy();
        client.Call("SCRIPT", "LOAD", script);
        Assert.Equal("OK", client.Call("SCRIPT", "FLUSH", "SYNC"));
        for (int s = 0; s < fixture.Servers.Count; s++)
        {
            using var direct = Direct(s);
            Assert.Equal(new object?[] { 0L }, direct.Call("SCRIPT", "EXISTS", Sha1Hex(script)));
        }
        Assert.Equal(new RespError("ERR SCRIPT FLUSH only support SYNC|ASYNC option"), client.Call("SCRIPT", "FLUSH", "SOMETIMES"));
    }

    [Fact]
    public void Eval_WithKeysOnOneShard_RunsThere_AndAcrossShardsGetsCrossSlot()
    {
        using var client = Proxy();
        var keys = fixture.KeysOnEveryServer("eval");
        Assert.Equal("OK", client.Call("EVAL", SetScript, "1", keys[2], "two"));
        Assert.Equal("two", fixture.DirectGet(keys[2]));
        Assert.Equal("two", client.CallText("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", keys[2]));
        Assert.Equal(new RespError("CROSSSLOT Keys in request don't hash to the same slot"),
            client.Call("EVAL", "return 1", "2", keys[0], keys[1]));

        string tag = Guid.NewGuid().ToString("N");
        Assert.Equal(2L, client.Call("EVAL", "redis.call('SET', KEYS[1], 'a'); redis.call('SET', KEYS[2], 'b'); return #KEYS",
            "2", $"{{{tag}}}:a", $"{{{tag}}}:b"));
        Assert.Equal("b", fixture.DirectGet($"{{{tag}}}:b"));
    }

    [Fact]
    public void Eval_BadNumkeys_GetsRedisOwnErrors()
    {
        using var client = Proxy();
        Assert.Equal(new RespError("ERR Number of keys can't be greater than number of args"), client.Call("EVAL", "return 1", "3", "a"));
        Assert.Equal(new RespError("ERR Number of keys can't be negative"), client.Call("EVAL", "return 1", "-1"));
        Assert.Equal(new RespError("ERR Bad number of keys provided"), client.Call("FCALL", "f", "x"));
    }

    [Fact]
    public void FunctionLoad_ThroughRampart_FcallWorksOnEveryShard_DeleteRemovesItEverywhere()
    {
        string library = "lib" + Guid.NewGuid().ToString("N");
        string code = $"#!lua name={library}\nredis.register_function('{library}_set', function(keys, args) return redis.call('SET', keys[1], args[1]) end)\n"
                      + $"redis.register_function{{function_name='{library}_get', callback=function(keys, args) return redis.call('GET', keys[1]) end, flags={{'no-writes'}}}}";
        using var client = Proxy();
        Assert.Equal(library, client.CallText("FUNCTION", "LOAD", code));
        var again = Assert.IsType<RespError>(client.Call("FUNCTION", "LOAD", code));
        Assert.Equal($"ERR Library '{library}' already exists", again.Message);

        var keys = fixture.KeysOnEveryServer("fcall");
        for (int s = 0; s < keys.Length; s++)
        {
            Assert.Equal("OK", client.Call("FCALL", $"{library}_set", "1", keys[s], $"f{s}"));
            Assert.Equal($"f{s}", fixture.DirectGet(keys[s]));
            Assert.Equal($"f{s}", client.CallText("FCALL_RO", $"{library}_get", "1", keys[s]));
        }
        // Each server lists the two functions in its own hash table's order: the same library all the same.
        var list = Assert.IsType<object?[]>(client.CallText("FUNCTION", "LIST", "LIBRARYNAME", library));
        Assert.Single(list);

        Assert.Equal("OK", client.Call("FUNCTION", "DELETE", library));
        for (int s = 0; s < fixture.Servers.Count; s++)
        {
            using var direct = Direct(s);
            Assert.Equal(Array.Empty<object?>(), direct.Call("FUNCTION", "LIST", "LIBRARYNAME", library));
        }
        Assert.Equal(new RespError("ERR Function not found"), client.Call("FCALL", $"{library}_set", "1", keys[0], "x"));
    }

    [Fact]
    public void FunctionList_WhenServersDiffer_IsAnErrorNotOneServersAnswer()
    {
        string library = "only" + Guid.NewGuid().ToString("N");
        using (var direct = Direct(1))
            Assert.Equal(library, direct.CallText("FUNCTION", "LOAD", $"#!lua name={library}\nredis.register_function('{library}_f', function() return 1 end)"));
        using var client = Proxy();
        var reply = Assert.IsType<RespError>(client.Call("FUNCTION", "LIST", "LIBRARYNAME", library));
        Assert.StartsWith("ERR rampart: the servers of this pool answered differently", reply.Message);
        using (var direct = Direct(1)) Assert.Equal("OK", direct.Call("FUNCTION", "DELETE", library));
        Assert.Equal(Array.Empty<object?>(), client.Call("FUNCTION", "LIST", "LIBRARYNAME", library));
    }

    [Fact]
    public void ScriptKill_GoesToEveryServer_NotBusyWhenNoneRunsAScript()
    {
        using var client = Proxy();
        Assert.Equal("NOTBUSY No scripts in execution right now.", Assert.IsType<RespError>(client.Call("SCRIPT", "KILL")).Message);
        Assert.Equal("NOTBUSY No scripts in execution right now.", Assert.IsType<RespError>(client.Call("FUNCTION", "KILL")).Message);
        Assert.Equal("PONG", client.Call("PING"));
    }
}
