using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// WATCH and MULTI ... EXEC sent command by command (on a dedicated connection) in a cluster pool, while their slot
/// moves: a request the old node answers MOVED or ASK goes again, with what the transaction sent before it, to the node
/// named, and the client sees only Redis's ordinary replies; with a WATCH held on the old node, Redis's EXECABORT.
/// Each test moves its own slot; values are read on the owning node itself.
/// </summary>
public sealed class ClusterTransactionTests(ClusterPinnedFixture fixture) : IClassFixture<ClusterPinnedFixture>
{
    private RedisClusterProcess Cluster => fixture.Cluster;

    /// <summary>Moves <paramref name="key"/>'s slot to another master behind Rampart's back; returns the new owner.</summary>
    private RedisServerProcess MoveSlotOf(string key)
    {
        var source = ClusterSlots.OwnerOf(Cluster, key);
        var target = ClusterSlots.OtherThan(Cluster, source);
        ClusterSlots.Migrate(Cluster, SlotOf(key), source, target);
        return target;
    }

    private static int SlotOf(string key) => ClusterSlot.Of(Encoding.UTF8.GetBytes(key));

    private RespTestClient Connect() => RespTestClient.ConnectTcp(fixture.Rampart.Port);

    [Fact]
    public void Watch_AfterItsSlotMoved_IsSentToTheNewOwner()
    {
        const string key = "{watch-moved}k";
        using var client = Connect();
        Assert.Equal("OK", client.Call("SET", key, "before"));
        var owner = MoveSlotOf(key);
        long moved = fixture.Redirects().Moved;

        Assert.Equal("OK", client.Call("WATCH", key)); // MOVED on the old owner, followed: the client sees +OK
        Assert.Equal("OK", client.Call("MULTI"));
        Assert.Equal("QUEUED", client.Call("SET", key, "after"));
        Assert.Equal(new object?[] { "OK" }, (object?[])client.Call("EXEC")!);

        Assert.Equal("$5\r\nafter\r\n", owner.Send(RespText.Command("GET", key)));
        Assert.True(fixture.Redirects().Moved > moved, "the WATCH was never redirected: the test did not exercise a move");
    }

    [Fact]
    public void Transaction_AfterItsSlotMoved_RunsOnTheNewOwner()
    {
        const string key = "{multi-moved}k";
        var owner = MoveSlotOf(key);
        long moved = fixture.Redirects().Moved;
        using var client = Connect();

        Assert.Equal("OK", client.Call("MULTI"));
        Assert.Equal("QUEUED", client.Call("SET", key, "5")); // with the held MULTI: MOVED, then both go to the owner
        Assert.Equal("QUEUED", client.Call("INCR", key));
        Assert.Equal(new object?[] { "OK", 6L }, (object?[])client.Call("EXEC")!);

        Assert.Equal("$1\r\n6\r\n", owner.Send(RespText.Command("GET", key)));
        Assert.True(fixture.Redirects().Moved > moved, "nothing was redirected: the test did not exercise a move");
    }

    [Fact]
    public void Transaction_WhoseSlotMovesAfterItsFirstCommand_GoesWholeToTheNewOwner()
    {
        const string key = "{multi-later}k";
        using var client = Connect();
        Assert.Equal("OK", client.Call("MULTI"));
        Assert.Equal("QUEUED", client.Call("SET", key, "1")); // queued on the old owner
        var owner = MoveSlotOf(key);

        // No WATCH: nothing ran, so MULTI, the SET and this INCR go again to the new owner.
        Assert.Equal("QUEUED", client.Call("INCR", key));
        Assert.Equal(new object?[] { "OK", 2L }, (object?[])client.Call("EXEC")!);
        Assert.Equal("$1\r\n2\r\n", owner.Send(RespText.Command("GET", key)));
    }

    /// <summary>Sends <paramref name="commands"/> in one write and reads their replies, in order.</summary>
    private static object?[] Pipeline(RespTestClient client, params string[][] commands)
    {
        client.Send(commands.SelectMany(c => RespTestClient.Command(c)).ToArray());
        return commands.Select(_ => client.ReadReply()).ToArray();
    }

    [Fact]
    public void Transaction_PipelinedBehindItsFirstKey_WhenTheSlotMoved_RunsOnceOnTheNewOwner()
    {
        const string key = "{multi-pipelined}k";
        const string counter = "{multi-pipelined}runs";
        var owner = MoveSlotOf(key);
        var old = ClusterSlots.OtherThan(Cluster, owner);
        long moved = fixture.Redirects().Moved;
        using var client = Connect();
        Assert.Equal("OK", client.Call("MULTI")); // held by Rampart until the first key says where

        // One write: the old owner (still in Rampart's map) answers MOVED to the SET, flags the transaction, then
        // MOVED again and EXECABORT; all of it goes to the new owner instead, once, in the client's order.
        var replies = Pipeline(client, ["SET", key, "5"], ["INCR", key], ["INCR", counter], ["PING"], ["EXEC"]);
        Assert.Equal(["QUEUED", "QUEUED", "QUEUED", "QUEUED"], replies.Take(4).Select(RespTestClient.AsText));
        Assert.Equal(new object?[] { "OK", 6L, 1L, "PONG" }, (object?[])RespTestClient.AsText(replies[4])!);

        Assert.Equal("$1\r\n6\r\n", owner.Send(RespText.Command("GET", key)));
        Assert.Equal("$1\r\n1\r\n", owner.Send(RespText.Command("GET", counter))); // ran once
        Assert.StartsWith("-MOVED", old.Send(RespText.Command("GET", counter)));
        Assert.True(fixture.Redirects().Moved > moved, "nothing was redirected: the test did not exercise a move");
        Assert.Equal("PONG", client.Call("PING")); // the client goes on, its replies in order
    }

    [Fact]
    public void Transaction_PipelinedAfterSomeCommandsQueued_WhenTheSlotMovedMidway_RunsWholeOnTheNewOwner()
    {
        const string key = "{multi-pipelined-later}k";
        using var client = Connect();
        Assert.Equal("OK", client.Call("MULTI"));
        Assert.Equal("QUEUED", client.Call("SET", key, "1")); // queued on the old owner
        var owner = MoveSlotOf(key);

        var replies = Pipeline(client, ["INCR", key], ["INCRBY", key, "10"], ["GET", key], ["EXEC"]);
        Assert.Equal(["QUEUED", "QUEUED", "QUEUED"], replies.Take(3).Select(RespTestClient.AsText));
        Assert.Equal(new object?[] { "OK", 2L, 12L, "12" }, (object?[])RespTestClient.AsText(replies[3])!);
        Assert.Equal("$2\r\n12\r\n", owner.Send(RespText.Command("GET", key)));
    }

    /// <summary>
    /// Runs <paramref name="transaction"/> (given a client of Rampart) while <paramref name="key"/>'s slot migrates, its
    /// key already on the target with the value "on-target"; then checks the key's final value on the target, that
    /// nothing is left on the source, and that Rampart followed an ASK.
    /// </summary>
    private void WhileSlotMigrates(string key, Action<RespTestClient> transaction, string expected)
    {
        var source = ClusterSlots.OwnerOf(Cluster, key);
        var target = ClusterSlots.OtherThan(Cluster, source);
        int slot = SlotOf(key);
        ClusterSlots.BeginMigration(slot, source, target);
        try
        {
            Assert.Equal("+OK\r\n", ClusterSlots.Asking(target, "SET", key, "on-target")); // the key has moved already
            long asked = fixture.Redirects().Asked;
            using (var client = Connect()) transaction(client);

            Assert.Equal($"${expected.Length}\r\n{expected}\r\n", ClusterSlots.Asking(target, "GET", key));
            Assert.Equal(":0\r\n", source.Send(RespText.Command("CLUSTER", "COUNTKEYSINSLOT", slot.ToString())));
            Assert.True(fixture.Redirects().Asked > asked, "nothing was asked: the test did not exercise a migration");
        }
        finally
        {
            ClusterSlots.FinishMigration(Cluster, slot, target);
        }
    }

    [Fact]
    public void Transaction_PipelinedWhileItsSlotMigrates_GoesWholeToTheTargetBehindOneAsking() =>
        WhileSlotMigrates("{multi-pipelined-ask}k", client =>
        {
            Assert.Equal("OK", client.Call("MULTI"));
            var replies = Pipeline(client, ["APPEND", "{multi-pipelined-ask}k", "+1"], ["APPEND", "{multi-pipelined-ask}k", "+2"], ["GET", "{multi-pipelined-ask}k"], ["EXEC"]);
            Assert.Equal(["QUEUED", "QUEUED", "QUEUED"], replies.Take(3).Select(RespTestClient.AsText));
            Assert.Equal(new object?[] { 11L, 13L, "on-target+1+2" }, (object?[])RespTestClient.AsText(replies[3])!);
        }, "on-target+1+2");

    [Fact]
    public void TwoTransactionsPipelined_WhenTheSlotMoved_EachRunsOnceOnTheNewOwner()
    {
        const string key = "{multi-two}k";
        using var client = Connect();
        Assert.Equal("OK", client.Call("MULTI"));
        Assert.Equal("QUEUED", client.Call("SET", key, "1"));
        var owner = MoveSlotOf(key);

        // The second MULTI waits for the first EXEC's reply: each transaction follows the slot on its own.
        var replies = Pipeline(client, ["INCR", key], ["EXEC"], ["MULTI"], ["INCR", key], ["EXEC"], ["GET", key]);
        Assert.Equal("QUEUED", RespTestClient.AsText(replies[0]));
        Assert.Equal(new object?[] { "OK", 2L }, (object?[])RespTestClient.AsText(replies[1])!);
        Assert.Equal(["OK", "QUEUED"], replies[2..4].Select(RespTestClient.AsText));
        Assert.Equal(new object?[] { 3L }, (object?[])RespTestClient.AsText(replies[4])!);
        Assert.Equal("3", RespTestClient.AsText(replies[5]));
        Assert.Equal("$1\r\n3\r\n", owner.Send(RespText.Command("GET", key)));
    }

    /// <summary>A client WATCHing <paramref name="key"/> (set to "0") on its owner, whose slot then moves: the new owner.</summary>
    private (RespTestClient Client, RedisServerProcess Owner) WatchingWhenItsSlotMoves(string key)
    {
        var client = Connect();
        Assert.Equal("OK", client.Call("SET", key, "0"));
        Assert.Equal("OK", client.Call("WATCH", key)); // runs on the old owner
        return (client, MoveSlotOf(key));
    }

    [Fact]
    public void Watch_HeldOnTheOldOwner_WithATransactionPipelined_AbortsAsRedisDoes()
    {
        const string key = "{watch-pipelined}k";
        var (client, owner) = WatchingWhenItsSlotMoves(key);
        using var _ = client;

        var replies = Pipeline(client, ["MULTI"], ["SET", key, "mine"], ["INCR", key], ["EXEC"]);
        Assert.Equal("OK", RespTestClient.AsText(replies[0]));
        Assert.StartsWith($"MOVED {SlotOf(key)} 127.0.0.1:{owner.Port}", Assert.IsType<RespError>(replies[1]).Message);
        Assert.StartsWith($"MOVED {SlotOf(key)} 127.0.0.1:{owner.Port}", Assert.IsType<RespError>(replies[2]).Message);
        Assert.Equal(new RespError("EXECABORT Transaction discarded because of previous errors."), replies[3]);
        Assert.Equal("$1\r\n0\r\n", owner.Send(RespText.Command("GET", key)));
        Assert.Equal("PONG", client.Call("PING"));
    }

    [Fact]
    public void Transaction_WhileItsSlotMigrates_GoesToTheTargetBehindAsking() =>
        WhileSlotMigrates("{multi-ask}k", client =>
        {
            Assert.Equal("OK", client.Call("MULTI"));
            Assert.Equal("QUEUED", client.Call("APPEND", "{multi-ask}k", "+1")); // ASK from the source: replayed on the target
            Assert.Equal("QUEUED", client.Call("GET", "{multi-ask}k"));
            Assert.Equal(new object?[] { 11L, Encoding.UTF8.GetBytes("on-target+1") }, (object?[])client.Call("EXEC")!);
        }, "on-target+1");

    [Fact]
    public void Watch_AfterItsSlotMoved_StillSeesAConcurrentChange()
    {
        const string key = "{watch-race}k";
        using var client = Connect();
        using var other = Connect();
        Assert.Equal("OK", client.Call("SET", key, "0"));
        var owner = MoveSlotOf(key);

        Assert.Equal("OK", client.Call("WATCH", key)); // followed to the new owner, where the key now is
        Assert.Equal("OK", other.Call("SET", key, "theirs"));
        Assert.Equal("OK", client.Call("MULTI"));
        Assert.Equal("QUEUED", client.Call("SET", key, "mine"));
        Assert.Null(client.Call("EXEC")); // the watch held on the new owner saw the other client's write

        Assert.Equal("$6\r\ntheirs\r\n", owner.Send(RespText.Command("GET", key)));
    }

    [Fact]
    public void Watch_HeldOnTheOldOwner_WhenTheSlotMoves_AbortsAsRedisDoes()
    {
        const string key = "{watch-then-move}k";
        var (client, owner) = WatchingWhenItsSlotMoves(key);
        using var _ = client;

        Assert.Equal("OK", client.Call("MULTI"));
        // The watch cannot be carried to the new owner: Redis's own answers, the command's MOVED and EXECABORT.
        var set = Assert.IsType<RespError>(client.Call("SET", key, "mine"));
        Assert.StartsWith($"MOVED {SlotOf(key)} 127.0.0.1:{owner.Port}", set.Message);
        Assert.Equal(new RespError("EXECABORT Transaction discarded because of previous errors."), client.Call("EXEC"));

        Assert.Equal("$1\r\n0\r\n", owner.Send(RespText.Command("GET", key)));
        Assert.Equal("PONG", client.Call("PING")); // the client goes on, its replies in order
    }
}
