using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>
/// A pool's <c>commands:</c> policy with real servers: administrative commands pass where an operator allowed them
/// (to the one server, to the confirmed master, to every shard with a merged answer), denied ones get NOPERM, and
/// inside MULTI a refusal aborts the transaction as Redis's own ACL refusals do.
/// </summary>
public class AdministrativeCommandTests
{
    private static readonly CommandRules AdminAllowed = new() { Allow = ["@admin", "@dangerous"] };

    private static PoolConfig PoolWith(CommandRules rules, params RedisServerProcess[] servers) =>
        RampartUnderTest.Pool(servers) with { Commands = rules };

    private static string? ConfigGet(RedisServerProcess server, string parameter)
    {
        using var direct = RespTestClient.ConnectTcp(server.Port);
        return direct.CallText("CONFIG", "GET", parameter) is object?[] { Length: 2 } pair ? pair[1] as string : null;
    }

    [Fact]
    public async Task ByDefault_ConfigSetIsRefused_AndTheServerKeepsItsSetting()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        var refused = Assert.IsType<RespError>(client.Call("CONFIG", "SET", "maxmemory-samples", "7"));
        Assert.StartsWith("ERR 'CONFIG SET' is not supported by rampart: it changes server-wide configuration", refused.Message);
        Assert.Contains("'commands: allow'", refused.Message);
        Assert.Equal("5", ConfigGet(redis, "maxmemory-samples"));
    }

    [Fact]
    public async Task AllowedAdminCommands_ReachTheServer_AsThroughHAProxy()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(PoolWith(AdminAllowed, redis));
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal("OK", client.Call("CONFIG", "SET", "maxmemory-samples", "7"));
        Assert.Equal("7", ConfigGet(redis, "maxmemory-samples"));
        Assert.Equal("OK", client.Call("CONFIG", "RESETSTAT"));
        Assert.Equal("OK", client.Call("SAVE"));
        Assert.Equal("OK", client.Call("ACL", "SETUSER", "reporter", "on", ">pw", "+get", "~*"));
        Assert.Equal(["default", "reporter"], Assert.IsType<object?[]>(client.CallText("ACL", "USERS")));
        // Redis's own reply passes unchanged, errors included.
        var bad = Assert.IsType<RespError>(client.Call("CONFIG", "SET", "maxmemory-samples", "many"));
        Assert.StartsWith("ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples')", bad.Message);
        // What cannot work through Rampart stays refused, whatever the categories say.
        Assert.StartsWith("ERR 'SYNC' is not supported by rampart", Assert.IsType<RespError>(client.Call("SYNC")).Message);
        Assert.Equal("PONG", client.Call("PING"));
    }

    [Fact]
    public async Task DeniedCommands_GetNoperm_NamingTheRule_AndOthersStillPass()
    {
        using var redis = RedisServerProcess.Start();
        var rules = new CommandRules { Allow = ["@admin", "@dangerous", "CONFIG"], Deny = ["FLUSHALL", "KEYS", "CONFIG|SET"] };
        await using var rampart = await RampartUnderTest.StartAsync(PoolWith(rules, redis));
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal("OK", client.Call("SET", "kept", "1"));
        Assert.Equal("NOPERM rampart: pool 'test' denies 'FLUSHALL' (commands: deny: FLUSHALL)",
            Assert.IsType<RespError>(client.Call("FLUSHALL")).Message);
        Assert.Equal("NOPERM rampart: pool 'test' denies 'KEYS' (commands: deny: KEYS)",
            Assert.IsType<RespError>(client.Call("KEYS", "*")).Message);
        Assert.Equal("NOPERM rampart: pool 'test' denies 'CONFIG SET' (commands: deny: CONFIG|SET)",
            Assert.IsType<RespError>(client.Call("CONFIG", "SET", "maxmemory-samples", "9")).Message);
        Assert.Equal("5", ConfigGet(redis, "maxmemory-samples"));
        Assert.Equal(["maxmemory-samples", "5"], Assert.IsType<object?[]>(client.CallText("CONFIG", "GET", "maxmemory-samples")));
        Assert.Equal("OK", client.Call("CONFIG", "RESETSTAT"));
        Assert.Equal("1", client.CallText("GET", "kept"));
    }

    [Fact]
    public async Task ARefusalInsideMulti_IsQueuedAsAnError_AndExecAnswersExecAbort()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(PoolWith(new CommandRules { Deny = ["KEYS"] }, redis));
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal("OK", client.Call("MULTI"));
        Assert.Equal("QUEUED", client.Call("SET", "tx", "1"));
        Assert.StartsWith("NOPERM", Assert.IsType<RespError>(client.Call("KEYS", "*")).Message);
        Assert.Equal("EXECABORT Transaction discarded because of previous errors.", Assert.IsType<RespError>(client.Call("EXEC")).Message);
        Assert.Null(client.Call("GET", "tx"));

        // The same in one pipelined batch (Rampart's whole-transaction fast path).
        client.Send([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("SET", "tx", "2"),
            .. RespTestClient.Command("KEYS", "*"), .. RespTestClient.Command("EXEC")]);
        Assert.Equal("OK", client.ReadReply());
        Assert.Equal("QUEUED", client.ReadReply());
        Assert.StartsWith("NOPERM", Assert.IsType<RespError>(client.ReadReply()).Message);
        Assert.StartsWith("EXECABORT", Assert.IsType<RespError>(client.ReadReply()).Message);
        Assert.Null(client.Call("GET", "tx"));
    }

    [Fact]
    public async Task ShardedPool_ConfigSetGoesToEveryServer_OkOnlyIfEveryServerSaidOk()
    {
        using var a = RedisServerProcess.Start();
        using var b = RedisServerProcess.Start();
        using var c = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(PoolWith(AdminAllowed, a, b, c));
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal("OK", client.Call("CONFIG", "SET", "maxmemory-samples", "8"));
        Assert.All(new[] { a, b, c }, s => Assert.Equal("8", ConfigGet(s, "maxmemory-samples")));

        Assert.Equal("OK", client.Call("ACL", "SETUSER", "temp", "on"));
        Assert.Equal(3L, client.Call("ACL", "DELUSER", "temp")); // summed: one user removed on each server
        Assert.Equal("OK", client.Call("SET", "k", "v"));
        Assert.Equal("OK", client.Call("FLUSHALL")); // @dangerous names FLUSHALL: consent, as allow_flush gives
        Assert.Equal(0L, client.Call("DBSIZE"));
        // A command one server acts on alone has no meaning for the pool: refused with the reason.
        Assert.Contains("no single server of pool 'test'", Assert.IsType<RespError>(client.Call("REPLICAOF", "NO", "ONE")).Message);
    }

    [Fact]
    public async Task ShardedPool_OneServerRefusing_MakesThePoolsAnswerItsError()
    {
        using var normal = RedisServerProcess.Start();
        using var renamed = RedisServerProcess.Start("--rename-command", "CONFIG", "");
        await using var rampart = await RampartUnderTest.StartAsync(PoolWith(AdminAllowed, normal, renamed));
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        var error = Assert.IsType<RespError>(client.Call("CONFIG", "SET", "maxmemory-samples", "8"));
        Assert.StartsWith("ERR unknown command 'CONFIG'", error.Message);
    }

    [Fact]
    public async Task SentinelPool_AllowedAdminCommandGoesToTheConfirmedMaster()
    {
        await using var topology = await SentinelTopology.StartAsync(new SentinelTopologyOptions { ReplicaCount = 1 });
        var pool = SentinelPoolConfig.For(topology) with { Commands = AdminAllowed };
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        using var client = new RawClient(rampart.Port);
        string configSet = System.Text.Encoding.UTF8.GetString(RespTestClient.Command("CONFIG", "SET", "maxmemory-samples", "6"));
        Assert.Equal("+OK", await client.RepeatUntilAsync(configSet, "+OK", TimeSpan.FromSeconds(10)));

        int master = topology.NodeIndexOf(topology.CurrentMasterPort());
        Assert.Equal(["maxmemory-samples", "6"], ((object?[])topology.AskNode(master, "CONFIG", "GET", "maxmemory-samples")!)
            .Select(v => v is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : v).ToArray());
        int replica = 1 - master;
        Assert.Equal(["maxmemory-samples", "5"], ((object?[])topology.AskNode(replica, "CONFIG", "GET", "maxmemory-samples")!)
            .Select(v => v is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : v).ToArray());
    }
}
