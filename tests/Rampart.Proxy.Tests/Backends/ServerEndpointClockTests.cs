using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Tests.Backends;

/// <summary>
/// A server's time rules as its pool settings drive them, on a fake clock: no socket is opened (nothing is flushed),
/// so each test runs in milliseconds.
/// </summary>
public sealed class ServerEndpointClockTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new();
    private readonly EventLoopGroup _loops = new(1, NullLoggerFactory.Instance);
    private readonly List<ServerEndpoint> _servers = [];
    private int _ejections;

    private ServerEndpoint Server(PoolConfig? pool = null)
    {
        pool ??= new PoolConfig { Name = "p", Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 }, Servers = [] };
        var config = new ServerConfig { Host = "127.0.0.1", Port = 1, Weight = 1, Name = "s0" };
        var server = new ServerEndpoint(pool, config, _loops, NullLogger.Instance, _clock, _ => _ejections++);
        _servers.Add(server);
        return server;
    }

    private void Advance(int ms) => _clock.Advance(TimeSpan.FromMilliseconds(ms));

    [Fact]
    public void FailedConnects_RefuseRequestsForABackoffThatDoublesToFiveSeconds()
    {
        var server = Server();
        foreach (int backoff in new[] { 100, 200, 400, 800, 1600, 3200, 5000, 5000 })
        {
            server.OnConnectFailed("connection refused");
            Assert.Equal("ERR rampart: server s0 (127.0.0.1:1) unavailable: connection refused", server.UnavailableReason);
            Advance(backoff - 1);
            Assert.NotNull(server.UnavailableReason);
            Advance(1);
            Assert.Null(server.UnavailableReason); // may be tried again
            Assert.True(server.IsDown); // until a connect succeeds
        }
        server.OnConnected();
        Assert.False(server.IsDown);
    }

    [Fact]
    public void AutoEject_AfterServerFailureLimit_RetriedAfterServerRetryTimeout()
    {
        var server = Server(new PoolConfig
        {
            Name = "p", Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 }, Servers = [],
            AutoEjectHosts = true, ServerFailureLimit = 3, ServerRetryTimeoutMs = 2000,
        });
        server.OnRequestRefused();
        server.OnDisconnected(failure: true);
        Assert.False(server.IsEjected);
        server.OnConnectFailed("connection refused");
        Assert.True(server.IsEjected);
        Assert.Equal(1, _ejections);

        Advance(1999);
        Assert.True(server.IsEjected);
        Advance(1);
        Assert.False(server.IsEjected);
    }

    [Fact]
    public void WhileReplicasAreShort_OneBatchPerRecheckSendsTheFullWait()
    {
        var server = Server(new PoolConfig
        {
            Name = "p", Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 }, Servers = [], MinReplicasAck = 2, AckTimeoutMs = 100,
        });
        long Now() => _clock.NowMs();
        var full = server.AcksForBatch(Now());
        Assert.True(full.IsFull); // replicas keeping up: every batch waits for them
        Assert.Equal("*3\r\n$4\r\nWAIT\r\n$1\r\n2\r\n$3\r\n100\r\n", System.Text.Encoding.ASCII.GetString(full.Command));
        Assert.True(server.AcksForBatch(Now()).IsFull);

        Assert.False(server.TakeAckReply(full, ":1\r\n"u8, out long acknowledged)); // a full WAIT came back short
        Assert.Equal(1, acknowledged);
        Assert.Equal(1, server.Stats.AckShortfalls);
        Assert.False(server.AcksForBatch(Now()).IsFull);
        Advance(WriteAcks.ShortRecheckMs);
        // One batch tries the full WAIT again; the batches sent while it is out keep the short one, so Redis does
        // not run dozens of full WAITs back to back on the lane (each waiting the whole ack_timeout).
        var recheck = server.AcksForBatch(Now());
        Assert.True(recheck.IsFull);
        for (int i = 0; i < 50; i++) Assert.False(server.AcksForBatch(Now()).IsFull);

        // A short WAIT that finds the replicas caught up ends the short state at once.
        Assert.True(server.TakeAckReply(server.AcksForBatch(Now()), ":2\r\n"u8, out _));
        Assert.True(server.AcksForBatch(Now()).IsFull);
    }

    [Fact]
    public void WithoutAutoEject_FailuresNeverEject()
    {
        var server = Server();
        for (int i = 0; i < 10; i++) server.OnRequestRefused();
        Assert.False(server.IsEjected);
        Assert.Equal(0, _ejections);
    }

    [Fact]
    public void FailoverHold_ExpiresAtItsLimit_AndTheSweepEndsIt()
    {
        var server = Server();
        Assert.True(server.BeginHold());
        Advance(ServerEndpoint.HoldLimitMs - 1);
        Assert.True(server.IsHolding);
        Assert.False(server.ExpireHold(_clock.NowMs()));
        Advance(1);
        Assert.False(server.IsHolding); // requests flow again at once
        Assert.True(server.ExpireHold(_clock.NowMs())); // and the sweep fails what waited with -TRYAGAIN
        Assert.False(server.ExpireHold(_clock.NowMs()));
    }

    [Fact]
    public void ClientPauseSentThroughRampart_HoldsItsCommandsUntilItsTimeoutPasses()
    {
        var server = Server();
        var get = Rampart.Protocol.Commands.CommandTable.Find("GET"u8)!;
        var set = Rampart.Protocol.Commands.CommandTable.Find("SET"u8)!;
        server.NotePause(1000, all: false); // CLIENT PAUSE 1000 WRITE
        Assert.True(server.HoldsWhilePaused(set));
        Assert.False(server.HoldsWhilePaused(get)); // reads are not held by a WRITE pause
        Advance(999);
        Assert.True(server.HoldsWhilePaused(set));
        Advance(1);
        Assert.False(server.HoldsWhilePaused(set));
    }

    public void Dispose()
    {
        foreach (var server in _servers) server.Dispose();
        _loops.Dispose();
    }
}
