using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Pinning.BlockingCommandTests;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// CLIENT UNBLOCK and CLIENT KILL ID name Rampart's client ids (CLIENT ID). A client blocked on its dedicated connection
/// is woken as Redis wakes it (TIMEOUT: the command's timeout reply; ERROR: -UNBLOCKED), or ended with that connection.
/// </summary>
public sealed class ClientUnblockTests
{
    [Fact]
    public async Task ClientUnblock_OfAClientBlockedOnItsDedicatedConnection_WakesItAsRedisDoes()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var blocked = Resp3Client.Connect(rampart.Port);
        using var other = Resp3Client.Connect(rampart.Port);
        string id = blocked.Call("CLIENT", "ID")[1..^2];
        string key = $"unblock:{Guid.NewGuid():N}";

        // TIMEOUT (the default): the blocking command answers as if its timeout had passed.
        blocked.Send("BLPOP", key, "0");
        await WaitUntilAsync(() => BlockedClients(redis) == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(":1\r\n", other.Call("CLIENT", "UNBLOCK", id));
        Assert.Equal("*-1\r\n", blocked.Read());

        blocked.Send("XREAD", "BLOCK", "0", "STREAMS", key + ":s", "$");
        await WaitUntilAsync(() => BlockedClients(redis) == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(":1\r\n", other.Call("CLIENT", "UNBLOCK", id, "timeout"));
        Assert.Equal("*-1\r\n", blocked.Read());

        // ERROR: Redis's own error text.
        blocked.Send("BLPOP", key, "0");
        await WaitUntilAsync(() => BlockedClients(redis) == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(":1\r\n", other.Call("CLIENT", "UNBLOCK", id, "ERROR"));
        Assert.Equal("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", blocked.Read());

        // Not blocked any more: 0, as from Redis; and the woken client carries on normally.
        Assert.Equal(":0\r\n", other.Call("CLIENT", "UNBLOCK", id));
        Assert.Equal("+OK\r\n", blocked.Call("SET", key, "v"));
        Assert.Equal("$1\r\nv\r\n", blocked.Call("GET", key));
        Assert.Equal(0, BlockedClients(redis));
    }

    [Fact]
    public async Task ClientUnblock_OfAResp3Client_GetsRespThreesNull()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var blocked = Resp3Client.ConnectResp3(rampart.Port);
        using var other = Resp3Client.Connect(rampart.Port);
        string id = blocked.Call("CLIENT", "ID")[1..^2];

        blocked.Send("BLPOP", $"unblock3:{Guid.NewGuid():N}", "0");
        await WaitUntilAsync(() => BlockedClients(redis) == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(":1\r\n", other.Call("CLIENT", "UNBLOCK", id));
        Assert.Equal("_\r\n", blocked.Read());
    }

    [Fact]
    public async Task ClientUnblock_BadArgumentsAndClientsNotBlocked_AnswerAsRedis()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        // The same calls, with each side's own ids: an idle client, the caller itself, an unknown id.
        string[] Script(int port)
        {
            using var idle = Resp3Client.Connect(port);
            using var caller = Resp3Client.Connect(port);
            string idleId = idle.Call("CLIENT", "ID")[1..^2];
            string selfId = caller.Call("CLIENT", "ID")[1..^2];
            string[][] calls =
            [
                ["CLIENT", "UNBLOCK", idleId],
                ["CLIENT", "UNBLOCK", selfId, "TIMEOUT"],
                ["CLIENT", "UNBLOCK", "987654321"],
                ["CLIENT", "UNBLOCK", "-1"],
                ["CLIENT", "UNBLOCK", "0", "error"],
                ["CLIENT", "UNBLOCK", idleId, "bogus"],
                ["CLIENT", "UNBLOCK", "abc"],
                ["CLIENT", "UNBLOCK", "abc", "bogus"],
                ["CLIENT", "UNBLOCK", "abc", "timeout"],
                ["CLIENT", "UNBLOCK", idleId, "ERROR", "extra"],
                ["CLIENT", "UNBLOCK"],
            ];
            return calls.Select(c => caller.Call(c)).ToArray();
        }
        var direct = Script(redis.Port);
        Assert.Equal(":0\r\n", direct[0]);
        Assert.Equal("-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n", direct[5]);
        Assert.Equal(direct, Script(rampart.Port));
    }

    [Fact]
    public async Task ClientKillId_OfABlockedClient_EndsItAndItsDedicatedConnection_OthersUnaffected()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        string key = $"kill:{Guid.NewGuid():N}";
        using var victim = Resp3Client.Connect(rampart.Port);
        using var bystander = Resp3Client.Connect(rampart.Port);
        using var killer = Resp3Client.Connect(rampart.Port);
        string id = victim.Call("CLIENT", "ID")[1..^2];

        victim.Send("BLPOP", key, "0");
        bystander.Send("BLPOP", key + ":other", "0");
        await WaitUntilAsync(() => BlockedClients(redis) == 2, TimeSpan.FromSeconds(10));
        Assert.Equal(":1\r\n", killer.Call("CLIENT", "KILL", "ID", id));
        Assert.True(IsClosed(victim.Socket, TimeSpan.FromSeconds(10)));
        // Its dedicated connection is closed on the server too (it was blocked: its state is unknown, never reused).
        await WaitUntilAsync(() => BlockedClients(redis) == 1, TimeSpan.FromSeconds(10));

        // A value pushed to the victim's key is not taken by anyone: no connection still blocks there.
        Assert.Equal(":1\r\n", killer.Call("RPUSH", key, "left"));
        Assert.Equal("*1\r\n$4\r\nleft\r\n", killer.Call("LRANGE", key, "0", "-1"));
        // The bystander is still blocked and gets its own value.
        Assert.Equal(":1\r\n", killer.Call("RPUSH", key + ":other", "mine"));
        Assert.Equal($"*2\r\n${key.Length + 6}\r\n{key}:other\r\n$4\r\nmine\r\n", bystander.Read());
        Assert.Equal(":0\r\n", killer.Call("CLIENT", "KILL", "ID", id));
        await WaitUntilAsync(() => pinned.Open == pinned.Idle, TimeSpan.FromSeconds(10));
    }

    private static bool IsClosed(System.Net.Sockets.Socket socket, TimeSpan timeout)
    {
        if (!socket.Poll((int)timeout.TotalMicroseconds, System.Net.Sockets.SelectMode.SelectRead)) return false;
        try { return socket.Receive(new byte[64]) == 0; }
        catch (System.Net.Sockets.SocketException) { return true; }
    }
}
