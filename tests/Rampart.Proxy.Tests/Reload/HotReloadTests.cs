using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Reload;

/// <summary>What a reload does to each kind of change, in the test process (the SIGHUP path is in SighupReloadTests).</summary>
public sealed class HotReloadTests
{
    private static string Pool(string name, int port, string servers, string extra = "") =>
        $"{name}:\n  listen: 127.0.0.1:{port}\n  redis: true\n{extra}  servers:\n{servers}";

    private static string Server(RedisServerProcess redis, string name, int weight = 1) => $"    - 127.0.0.1:{redis.Port}:{weight} {name}\n";

    [Fact]
    public async Task ReloadThatChangesNothing_DoesNothing()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        string yaml = Pool("alpha", port, Server(redis, "s0"));
        await using var rampart = await RampartFromFile.StartAsync(yaml);
        var pool = Assert.Single(rampart.Server.Pools);
        var routing = pool.Routing;
        var listener = pool.Listener;
        using var client = new RawClient(port);
        client.AssertStillServes();

        // The same pools, moved down two lines and with a comment: line numbers are not a change.
        var outcome = rampart.Reload("# reformatted\n\n" + yaml);

        Assert.True(outcome.Success);
        Assert.Equal("no changes", outcome.Changes);
        Assert.Same(pool, Assert.Single(rampart.Server.Pools));
        Assert.Same(routing, pool.Routing);
        Assert.Same(listener, pool.Listener);
        Assert.Equal(1, rampart.Server.ReloadSuccesses);
        client.AssertStillServes();
    }

    [Fact]
    public async Task RemovedServer_AnswersWhatWasInFlight_ThenItsConnectionCloses()
    {
        using var a = RedisServerProcess.Start();
        using var b = RedisServerProcess.Start();
        int port = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(Pool("alpha", port, Server(a, "a") + Server(b, "b")));
        var router = KeyRouter.Create(rampart.Server.Config.Pools[0]);
        string key = Enumerable.Range(0, 1000).Select(i => $"key{i}").First(k => router.ServerFor(Encoding.UTF8.GetBytes(k)) == 1);

        using var client = new RawClient(port);
        client.Send(RespText.Command("SET", key, "before"));
        Assert.Equal("+OK", client.ReadLine());

        b.Freeze();
        try
        {
            client.Send(RespText.Command("GET", key)); // in flight to b, which answers nothing while frozen
            await Task.Delay(100);
            var outcome = rampart.Reload(Pool("alpha", port, Server(a, "a")));
            Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
            Assert.Contains($"server -b (127.0.0.1:{b.Port})", outcome.Changes);
            await Task.Delay(1500); // past the grace period: b stays only because a request is in flight
        }
        finally
        {
            b.Thaw();
        }
        Assert.Equal("$6", client.ReadLine());
        Assert.Equal("before", client.ReadLine());

        // The key's new owner is a, which never had it.
        client.Send(RespText.Command("GET", key));
        Assert.Equal("$-1", client.ReadLine());
        Assert.True(await Poll.TryWaitUntilAsync(() => !b.Send("*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n").Contains("name=rampart", StringComparison.Ordinal),
                TimeSpan.FromSeconds(10)),
            "rampart kept its connection to the removed server");
    }

    [Fact]
    public async Task RemovedServerThatNeverAnswers_FailsWhatWaitedWithTheReason_AfterTheRetireLimit()
    {
        using var a = RedisServerProcess.Start();
        using var b = RedisServerProcess.Start();
        int port = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(Pool("alpha", port, Server(a, "a") + Server(b, "b")));
        var pool = Assert.Single(rampart.Server.Pools);
        pool.RetireLimitMs = 1500;
        var router = KeyRouter.Create(rampart.Server.Config.Pools[0]);
        string key = Enumerable.Range(0, 1000).Select(i => $"key{i}").First(k => router.ServerFor(Encoding.UTF8.GetBytes(k)) == 1);
        using var client = new RawClient(port);
        client.Send(RespText.Command("SET", key, "v")); // Rampart is connected to b before b stops answering
        Assert.Equal("+OK", client.ReadLine());

        b.Freeze();
        try
        {
            client.Send(RespText.Command("GET", key));
            await Task.Delay(100);
            rampart.Reload(Pool("alpha", port, Server(a, "a")));
            Assert.Equal($"-ERR rampart: server b (127.0.0.1:{b.Port}) was removed from pool 'alpha' by a configuration reload", client.ReadLine());
        }
        finally
        {
            b.Thaw();
        }
        client.AssertStillServes();
    }

    [Fact]
    public async Task RemovedPool_StopsListening_IdleClientsClose_BusyClientsGetTheirReplyFirst()
    {
        using var keep = RedisServerProcess.Start();
        using var gone = RedisServerProcess.Start();
        int keepPort = FreePort.Next(), gonePort = FreePort.Next();
        string keepPool = Pool("keep", keepPort, Server(keep, "k"));
        await using var rampart = await RampartFromFile.StartAsync(keepPool + Pool("gone", gonePort, Server(gone, "g")));

        using var kept = new RawClient(keepPort);
        using var idle = new RawClient(gonePort);
        using var busy = new RawClient(gonePort);
        idle.AssertStillServes();
        busy.AssertStillServes();

        gone.Freeze();
        try
        {
            busy.Send(RespText.Command("SET", "drain", "1"));
            await Task.Delay(100);
            var outcome = rampart.Reload(keepPool);
            Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
            Assert.Contains("pool 'gone' removed", outcome.Changes);

            Assert.True(idle.IsClosedByServer(TimeSpan.FromSeconds(5)), "an idle client of a removed pool stayed connected");
            Assert.Throws<SocketException>(() => new TcpClient("127.0.0.1", gonePort).Dispose());
            Assert.Equal(["keep"], rampart.Server.Pools.Select(p => p.Config.Name));
        }
        finally
        {
            gone.Thaw();
        }
        Assert.Equal("+OK", busy.ReadLine());
        Assert.True(busy.IsClosedByServer(TimeSpan.FromSeconds(5)), "the busy client was not closed after its reply");
        kept.AssertStillServes();
    }

    [Fact]
    public async Task RemovedPool_ClientWaitingOnAServerThatNeverAnswers_IsClosedAtTheDrainLimit()
    {
        using var keep = RedisServerProcess.Start();
        using var gone = RedisServerProcess.Start();
        int keepPort = FreePort.Next(), gonePort = FreePort.Next();
        string keepPool = Pool("keep", keepPort, Server(keep, "k"));
        await using var rampart = await RampartFromFile.StartAsync(keepPool + Pool("gone", gonePort, Server(gone, "g")));
        rampart.Server.Pools.Single(p => p.Config.Name == "gone").RetireLimitMs = 1000;
        using var busy = new RawClient(gonePort);
        busy.Send(RespText.Command("SET", "warm", "1"));
        Assert.Equal("+OK", busy.ReadLine());

        gone.Freeze();
        try
        {
            busy.Send(RespText.Command("GET", "warm"));
            await Task.Delay(100);
            rampart.Reload(keepPool);
            var clock = Stopwatch.StartNew();
            Assert.True(busy.IsClosedByServer(TimeSpan.FromSeconds(10)), "the drain limit did not close the client");
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(500), $"closed after {clock.Elapsed}, before the drain limit");
        }
        finally
        {
            gone.Thaw();
        }
    }

    [Fact]
    public async Task ListenAddressChange_ExistingClientsKeepWorking_NewAddressAccepts_OldOneIsClosed()
    {
        using var redis = RedisServerProcess.Start();
        int oldPort = FreePort.Next(), newPort = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(Pool("alpha", oldPort, Server(redis, "s0")));
        using var existing = new RawClient(oldPort);
        existing.AssertStillServes();

        var outcome = rampart.Reload(Pool("alpha", newPort, Server(redis, "s0")));

        Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
        Assert.Contains($"listen 127.0.0.1:{oldPort} -> 127.0.0.1:{newPort}", outcome.Changes);
        existing.AssertStillServes();
        using (var moved = new RawClient(newPort)) moved.AssertStillServes();
        Assert.Throws<SocketException>(() => new TcpClient("127.0.0.1", oldPort).Dispose());
        Assert.Equal(newPort, rampart.PortOf("alpha"));
    }

    [Fact]
    public async Task TwoPoolsSwapAddresses_EachRebindsTheOthersPort_ConnectedClientsStayWithTheirPool()
    {
        using var first = RedisServerProcess.Start();
        using var second = RedisServerProcess.Start();
        int p1 = FreePort.Next(), p2 = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(Pool("a", p1, Server(first, "x")) + Pool("b", p2, Server(second, "y")));
        using var onA = new RawClient(p1);
        onA.AssertStillServes();

        // Each new address is held by the other pool's listener: both are released first, then bound again.
        var outcome = rampart.Reload(Pool("a", p2, Server(first, "x")) + Pool("b", p1, Server(second, "y")));

        Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
        Assert.Equal(p2, rampart.PortOf("a"));
        Assert.Equal(p1, rampart.PortOf("b"));
        onA.Send(RespText.Command("SET", "swap-old", "a"));
        Assert.Equal("+OK", onA.ReadLine());
        using var newOnP1 = new RawClient(p1);
        newOnP1.Send(RespText.Command("SET", "swap-new", "b"));
        Assert.Equal("+OK", newOnP1.ReadLine());
        Assert.Contains("$1\r\na", first.Send("*2\r\n$3\r\nGET\r\n$8\r\nswap-old\r\n"));
        Assert.Contains("$1\r\nb", second.Send("*2\r\n$3\r\nGET\r\n$8\r\nswap-new\r\n"));
    }

    [Fact]
    public async Task RenamedPool_NewPoolTakesTheAddress_OldPoolsClientsDrain()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(Pool("old", port, Server(redis, "s0")));
        using var idle = new RawClient(port);
        idle.AssertStillServes();

        var outcome = rampart.Reload(Pool("new", port, Server(redis, "s0")));

        Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
        Assert.Contains("pool 'new' added", outcome.Changes);
        Assert.Contains("pool 'old' removed", outcome.Changes);
        Assert.True(idle.IsClosedByServer(TimeSpan.FromSeconds(5)));
        using var client = new RawClient(port);
        client.AssertStillServes();
        var added = Assert.Single(rampart.Server.Pools);
        Assert.Equal("new", added.Config.Name);
        // A pool a reload adds reports to the proxy's own event log (what /events and the dashboard show), as one
        // configured at start does.
        Assert.Same(rampart.Server.Events, added.Events);
    }

    [Fact]
    public async Task NewListenAddressInUse_ReloadFails_AndNothingChanges()
    {
        using var redis = RedisServerProcess.Start();
        using var squatter = new TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        int taken = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
        int port = FreePort.Next();
        string alpha = Pool("alpha", port, Server(redis, "s0"));
        await using var rampart = await RampartFromFile.StartAsync(alpha);

        var outcome = rampart.Reload(alpha + Pool("beta", taken, Server(redis, "s0")));

        Assert.False(outcome.Success);
        Assert.Contains(outcome.Errors, e => e.StartsWith($"{rampart.Path}:6: pool 'beta': cannot listen on 127.0.0.1:{taken}", StringComparison.Ordinal));
        Assert.Equal(["alpha"], rampart.Server.Pools.Select(p => p.Config.Name));
        Assert.Single(rampart.Server.Config.Pools);
        Assert.Equal(1, rampart.Server.ReloadFailures);
        using var client = new RawClient(port);
        client.AssertStillServes();
    }

    [Fact]
    public async Task TimeoutChange_AppliesToRequestsAlreadyInFlight()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(Pool("alpha", port, Server(redis, "s0"), "  timeout: 60000\n"));
        using var client = new RawClient(port);
        client.AssertStillServes();

        redis.Freeze();
        try
        {
            client.Send(RespText.Command("GET", "slow"));
            var clock = Stopwatch.StartNew();
            var outcome = rampart.Reload(Pool("alpha", port, Server(redis, "s0"), "  timeout: 200\n"));
            Assert.Contains("timeout 60000 -> 200", outcome.Changes);
            Assert.Equal("-ERR timeout", client.ReadLine());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the new timeout took {clock.Elapsed} to apply");
        }
        finally
        {
            redis.Thaw();
        }
    }

    [Fact]
    public async Task ConnectionSettingChange_NewServerConnections_ClientsKeepTheirs()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(Pool("alpha", port, Server(redis, "s0")));
        var pool = Assert.Single(rampart.Server.Pools);
        var before = pool.Routing.Servers[0];
        using var client = new RawClient(port);
        client.Send(RespText.Command("SET", "db", "zero"));
        Assert.Equal("+OK", client.ReadLine());

        // redis_db changes what a server connection is: a new endpoint (its connections SELECT 3); the client stays.
        var outcome = rampart.Reload(Pool("alpha", port, Server(redis, "s0"), "  redis_db: 3\n"));

        Assert.Contains("redis_db 0 -> 3", outcome.Changes);
        Assert.NotSame(before, pool.Routing.Servers[0]);
        client.Send(RespText.Command("GET", "db"));
        Assert.Equal("$-1", client.ReadLine());
        client.Send(RespText.Command("SET", "db", "three"));
        Assert.Equal("+OK", client.ReadLine());
        Assert.Contains("three", redis.Send("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*2\r\n$3\r\nGET\r\n$2\r\ndb\r\n"));
    }

    [Fact]
    public async Task RedisAuthChange_AuthenticatedClientsStay_NewClientsNeedTheNewPassword()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "old-pw");
        int port = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(Pool("alpha", port, Server(redis, "s0"), "  redis_auth: old-pw\n"));
        using var authenticated = new RawClient(port);
        authenticated.Send(RespText.Command("AUTH", "old-pw"));
        Assert.Equal("+OK", authenticated.ReadLine());
        authenticated.AssertStillServes();
        var before = Assert.Single(rampart.Server.Pools).Routing.Servers[0];

        // The server's password changes first (as an operator would), then Rampart's.
        Assert.StartsWith("+OK", redis.Send("*2\r\n$4\r\nAUTH\r\n$6\r\nold-pw\r\n*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$11\r\nrequirepass\r\n$6\r\nnew-pw\r\n"));
        var outcome = rampart.Reload(Pool("alpha", port, Server(redis, "s0"), "  redis_auth: new-pw\n"));

        Assert.Equal("pool 'alpha': redis_auth changed", outcome.Changes);
        Assert.NotSame(before, Assert.Single(rampart.Server.Pools).Routing.Servers[0]);
        authenticated.Send(RespText.Command("SET", "auth", "still"));
        Assert.Equal("+OK", authenticated.ReadLine()); // on a new server connection that authenticated with new-pw
        using var late = new RawClient(port);
        late.Send(RespText.Command("AUTH", "old-pw"));
        Assert.StartsWith("-WRONGPASS", late.ReadLine());
        late.Send(RespText.Command("AUTH", "new-pw"));
        Assert.Equal("+OK", late.ReadLine());
        late.AssertStillServes();
    }

    [Fact]
    public async Task ClientLimitAndBacklogChanges_ApplyLive()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        await using var rampart = await RampartFromFile.StartAsync(Pool("alpha", port, Server(redis, "s0")));
        using var first = new RawClient(port);
        first.AssertStillServes();

        var outcome = rampart.Reload(Pool("alpha", port, Server(redis, "s0"), "  client_connections: 1\n  backlog: 64\n"));

        Assert.Equal("pool 'alpha': backlog 512 -> 64, client_connections 0 -> 1", outcome.Changes);
        using (var second = new RawClient(port)) Assert.Equal("-ERR max number of clients reached", second.ReadLine());
        first.AssertStillServes();
    }

}
