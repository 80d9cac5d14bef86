using System.Net.Sockets;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>
/// A client's busy script, function or paused write holds the shared server connection it runs on. The commands Redis
/// runs beside such a call (SCRIPT KILL, FUNCTION KILL, SHUTDOWN, CLIENT UNPAUSE) must reach the server anyway, on a
/// connection of their own: queued behind the busy call they would never run, and every client sharing that connection
/// would wait with it. One event loop and one shared connection, so every client here shares it.
/// </summary>
public class BusyCallTests
{
    private const string Spin = "while true do end";

    private static RedisServerProcess StartServer() => RedisServerProcess.Start("--busy-reply-threshold", "10");

    private static Task<RampartUnderTest> StartAsync(PoolConfig pool) => RampartUnderTest.StartAsync(pool, eventLoops: 1);

    private static Task<RampartUnderTest> StartAllowingAsync(RedisServerProcess redis, params string[] allow) =>
        StartAsync(RampartUnderTest.Pool(redis) with { Commands = new CommandRules { Allow = allow } });

    /// <summary>A client that gives up after 5 s: a command stuck behind the busy call fails the test, not hangs it.</summary>
    private static RespTestClient Connect(int port)
    {
        var client = RespTestClient.ConnectTcp(port);
        client.ReadTimeoutMs = 5_000;
        return client;
    }

    [Fact]
    public async Task ScriptKill_FromAnotherClient_EndsABusyScript_AndTheClientsBehindItResume()
    {
        using var redis = StartServer();
        await using var rampart = await StartAsync(RampartUnderTest.Pool(redis));
        using var spinner = Connect(rampart.Port);
        using var bystander = Connect(rampart.Port);
        using var killer = Connect(rampart.Port);
        Assert.Equal("OK", bystander.Call("SET", "k", "before"));

        // Frozen, the server reads neither: the GET is surely on the shared connection behind the script.
        redis.Freeze();
        spinner.Send(RespTestClient.Command("EVAL", Spin, "0"));
        await Task.Delay(50);
        bystander.Send(RespTestClient.Command("GET", "k"));
        await Task.Delay(50);
        redis.Thaw();
        await Task.Delay(200);

        Assert.Equal("OK", killer.Call("SCRIPT", "KILL"));
        Assert.Contains("killed by user", Assert.IsType<RespError>(spinner.ReadReply()).Message);
        Assert.Equal("before", RespTestClient.AsText(bystander.ReadReply()));
        Assert.Equal("PONG", spinner.Call("PING"));
        Assert.Equal("NOTBUSY No scripts in execution right now.", Assert.IsType<RespError>(killer.Call("SCRIPT", "KILL")).Message);
    }

    [Fact]
    public async Task WhileAScriptIsBusy_AClientWithNothingInFlight_GetsBusyAsDirectly_NotAWait()
    {
        using var redis = StartServer();
        await using var rampart = await StartAsync(RampartUnderTest.Pool(redis));
        using var spinner = Connect(rampart.Port);
        using var other = Connect(rampart.Port);
        Assert.Equal("OK", other.Call("SET", "k", "v"));

        spinner.Send(RespTestClient.Command("EVAL", Spin, "0"));
        await Task.Delay(300);

        const string Busy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
        Assert.Equal(Busy, Assert.IsType<RespError>(other.Call("GET", "k")).Message);
        Assert.Equal(Busy, Assert.IsType<RespError>(other.Call("PING")).Message);
        Assert.Equal("OK", other.Call("SCRIPT", "KILL"));
        Assert.Contains("killed by user", Assert.IsType<RespError>(spinner.ReadReply()).Message);
        Assert.Equal("PONG", other.Call("PING"));
        Assert.Equal("v", RespTestClient.AsText(other.Call("GET", "k")));
    }

    [Fact]
    public async Task FunctionKill_FromAnotherClient_EndsABusyFunction()
    {
        using var redis = StartServer();
        await using var rampart = await StartAsync(RampartUnderTest.Pool(redis));
        using var spinner = Connect(rampart.Port);
        using var killer = Connect(rampart.Port);
        Assert.Equal("busy", RespTestClient.AsText(spinner.Call("FUNCTION", "LOAD",
            $"#!lua name=busy\nredis.register_function('spin', function() {Spin} end)")));

        spinner.Send(RespTestClient.Command("FCALL", "spin", "0"));
        await Task.Delay(200);

        var stats = Assert.IsType<object?[]>(killer.CallText("FUNCTION", "STATS"));
        Assert.Equal("running_script", stats[0]);
        Assert.NotNull(stats[1]); // the function that runs, as Redis reports it while busy
        Assert.Equal("OK", killer.Call("FUNCTION", "KILL"));
        Assert.Contains("killed by user", Assert.IsType<RespError>(spinner.ReadReply()).Message);
        Assert.Equal("PONG", spinner.Call("PING"));
    }

    [Fact]
    public async Task ShardedPool_ScriptKill_ReachesTheBusyServer_AndAnswersOk()
    {
        using var a = StartServer();
        using var b = StartServer();
        await using var rampart = await StartAsync(RampartUnderTest.Pool(a, b));
        using var spinner = Connect(rampart.Port);
        using var killer = Connect(rampart.Port);

        spinner.Send(RespTestClient.Command("EVAL", Spin, "1", "some-key"));
        await Task.Delay(200);

        Assert.Equal("OK", killer.Call("SCRIPT", "KILL"));
        Assert.Contains("killed by user", Assert.IsType<RespError>(spinner.ReadReply()).Message);
        Assert.Equal("NOTBUSY No scripts in execution right now.", Assert.IsType<RespError>(killer.Call("SCRIPT", "KILL")).Message);
    }

    [Fact]
    public async Task ClientUnpause_ReachesTheServer_WhileAPausedWriteHoldsTheSharedConnection()
    {
        using var redis = StartServer();
        await using var rampart = await StartAllowingAsync(redis, "@admin");
        using var writer = Connect(rampart.Port);
        using var operatorClient = Connect(rampart.Port);

        Assert.Equal("OK", operatorClient.Call("CLIENT", "PAUSE", "60000", "WRITE"));
        writer.Send(RespTestClient.Command("SET", "paused", "v")); // held by the server: so is the shared connection
        await Task.Delay(200);

        Assert.Equal("OK", operatorClient.Call("CLIENT", "UNPAUSE"));
        Assert.Equal("OK", writer.ReadReply());
        Assert.Equal("v", RespTestClient.AsText(operatorClient.Call("GET", "paused")));
    }

    [Fact]
    public async Task WhileWritesArePaused_AHeldWriteDoesNotHoldUpOtherClientsReads()
    {
        using var redis = StartServer();
        await using var rampart = await StartAllowingAsync(redis, "@admin");
        using var writer = Connect(rampart.Port);
        using var reader = Connect(rampart.Port);
        Assert.Equal("OK", reader.Call("SET", "k", "before"));

        Assert.Equal("OK", reader.Call("CLIENT", "PAUSE", "60000", "WRITE"));
        writer.Send(RespTestClient.Command("SET", "k", "after"));
        await Task.Delay(20); // well within the time after which a held connection is noticed

        Assert.Equal("before", RespTestClient.AsText(reader.Call("GET", "k")));
        string clients = (string)RespTestClient.AsText(reader.Call("INFO", "clients"))!;
        Assert.Contains("blocked_clients:1\r\n", clients); // the server holds the write, as it would directly
        Assert.Equal("OK", reader.Call("CLIENT", "UNPAUSE"));
        Assert.Equal("OK", writer.ReadReply());
        Assert.Equal("after", RespTestClient.AsText(reader.Call("GET", "k")));
    }

    [Fact]
    public async Task WhileWritesArePaused_AHeldTransactionDoesNotHoldUpOtherClientsReads()
    {
        using var redis = StartServer();
        await using var rampart = await StartAllowingAsync(redis, "@admin");
        using var writer = Connect(rampart.Port);
        using var reader = Connect(rampart.Port);
        Assert.Equal("OK", reader.Call("SET", "k", "before"));

        Assert.Equal("OK", reader.Call("CLIENT", "PAUSE", "60000", "WRITE"));
        // Pipelined whole: one request on a shared connection, unless Rampart sees it would be held.
        writer.Send([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("SET", "k", "after"), .. RespTestClient.Command("EXEC")]);
        await Task.Delay(20);

        Assert.Equal("before", RespTestClient.AsText(reader.Call("GET", "k")));
        Assert.Equal("OK", reader.Call("CLIENT", "UNPAUSE"));
        Assert.Equal("OK", writer.ReadReply());
        Assert.Equal("QUEUED", writer.ReadReply());
        Assert.Equal(["OK"], Assert.IsType<object?[]>(writer.ReadReply()));
        Assert.Equal("after", RespTestClient.AsText(reader.Call("GET", "k")));
    }

    [Fact]
    public async Task ShutdownNosave_StopsTheServer_EvenWhileAScriptIsBusy()
    {
        using var redis = StartServer();
        await using var rampart = await StartAllowingAsync(redis, "@admin", "@dangerous");
        using var spinner = Connect(rampart.Port);
        using var stopper = Connect(rampart.Port);

        spinner.Send(RespTestClient.Command("EVAL", Spin, "0"));
        await Task.Delay(200);
        stopper.Send(RespTestClient.Command("SHUTDOWN", "NOSAVE"));

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (CanConnect(redis.Port))
        {
            Assert.True(DateTime.UtcNow < deadline, "the server did not stop after SHUTDOWN NOSAVE");
            await Task.Delay(50);
        }
    }

    private static bool CanConnect(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
