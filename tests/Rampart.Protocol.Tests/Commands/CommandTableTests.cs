using System.Text;
using Rampart.Protocol.Commands;
using static Rampart.Protocol.Tests.Commands.TestRequests;

namespace Rampart.Protocol.Tests.Commands;

/// <summary>Pure tests of lookup, arity, policies and key enumeration. Checks against a real redis-server live in
/// Rampart.Proxy.Tests/Protocol/CommandTableServerTests.cs.</summary>
public class CommandTableTests
{
    [Theory]
    [InlineData("get")]
    [InlineData("GET")]
    [InlineData("gEt")]
    [InlineData("GeoRadiusByMember_RO")]
    [InlineData("RESTORE-ASKING")]
    public void Find_IsCaseInsensitive(string name)
    {
        var info = CommandTable.Find(Encoding.ASCII.GetBytes(name));
        Assert.NotNull(info);
        Assert.Equal(name.ToLowerInvariant(), info.Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ge")]
    [InlineData("gett")]
    [InlineData("nosuchcommand")]
    [InlineData("setname")]          // a subcommand, not a command
    [InlineData("client|setname")]   // Redis 7 names subcommands so, but clients never send it
    [InlineData("1get")]
    [InlineData("g\u00e9t")]
    [InlineData("averyveryveryverylongcommandname")]
    public void Find_ReturnsNullForUnknownNames(string name) =>
        Assert.Null(CommandTable.Find(Encoding.UTF8.GetBytes(name)));

    [Fact]
    public void Find_DoesNotConfuseAsciiCaseFoldNeighbours()
    {
        // '@' | 0x20 is '`' and '[' | 0x20 is '{': neither may fold onto a letter.
        Assert.Null(CommandTable.Find("@et"u8));
        Assert.Null(CommandTable.Find("[et"u8));
        Assert.Null(CommandTable.Find("g\u00c5t"u8));
    }

    [Fact]
    public void Find_AllocatesNothing()
    {
        var names = new[] { "GET"u8.ToArray(), "set"u8.ToArray(), "ZRangeByScore"u8.ToArray(), "nosuch"u8.ToArray(), "CLIENT"u8.ToArray() };
        var client = CommandTable.Find("client"u8)!;
        int found = 0, calls = 0;
        // The fewest bytes over three runs: a one-off of the runtime's on this thread (tiered compilation) is not a
        // per-call allocation, which would show in every run.
        long allocated = AllocationTests.AllocatedBy(() =>
        {
            if (CommandTable.Find(names[calls % names.Length]) is not null) found++;
            if (CommandTable.FindSubcommand(client, "SetName"u8) is not null) found++;
            calls++;
        });
        Assert.Equal(0, allocated);
        // Every name is a command but "nosuch" (index 3), and SETNAME always is a CLIENT subcommand.
        Assert.Equal(Enumerable.Range(0, calls).Sum(i => (i % names.Length == 3 ? 0 : 1) + 1), found);
    }

    [Fact]
    public void GetKeys_AllocatesNothing()
    {
        var bytes = Encode("MSET", "a", "1", "b", "2");
        var eval = Encode("EVAL", "return 1", "2", "k1", "k2", "arg");
        var reader = new RequestReader();
        var evalReader = new RequestReader();
        Assert.Equal(ParseStatus.Complete, reader.TryRead(bytes, out _));
        Assert.Equal(ParseStatus.Complete, evalReader.TryRead(eval, out _));
        var mset = CommandTable.Find("mset"u8)!;
        var evalInfo = CommandTable.Find("eval"u8)!;
        int sum = 0, calls = 0;
        long allocated = AllocationTests.AllocatedBy(() =>
        {
            foreach (int k in mset.GetKeys(new Request(reader, bytes))) sum += k;
            foreach (int k in evalInfo.GetKeys(new Request(evalReader, eval))) sum += k;
            calls++;
        });
        Assert.Equal(0, allocated);
        Assert.Equal(calls * (1 + 3 + 3 + 4), sum);
    }

    [Fact]
    public void Subcommands_AreFoundCaseInsensitivelyWithRedis7Names()
    {
        var client = CommandTable.Find("client"u8)!;
        var setname = CommandTable.FindSubcommand(client, "SETNAME"u8);
        Assert.NotNull(setname);
        Assert.Equal("client|setname", setname.Name);
        Assert.Equal("CLIENT SETNAME", setname.DisplayName);
        Assert.Same(client, setname.Parent);
        Assert.Equal("SETNAME", Encoding.ASCII.GetString(setname.NameBytes.Span));
        Assert.Null(CommandTable.FindSubcommand(client, "nosuch"u8));
        Assert.Null(CommandTable.FindSubcommand(CommandTable.Find("get"u8)!, "x"u8));
    }

    [Fact]
    public void Resolve_PicksTheSubcommandOrFallsBackToTheContainer()
    {
        Assert.Equal("client|kill", With(["client", "KILL", "x"], r => CommandTable.Resolve(r)!.Name));
        Assert.Equal("client", With(["CLIENT", "nosuch"], r => CommandTable.Resolve(r)!.Name));
        Assert.Equal("client", With(["CLIENT"], r => CommandTable.Resolve(r)!.Name));
        Assert.Equal("get", With(["get", "k"], r => CommandTable.Resolve(r)!.Name));
        Assert.Null(With(["nosuch", "k"], r => CommandTable.Resolve(r)));
    }

    [Theory]
    [InlineData("get", 2, true)]
    [InlineData("get", 1, false)]
    [InlineData("get", 3, false)]
    [InlineData("mset", 3, true)]
    [InlineData("mset", 5, true)]
    [InlineData("mset", 2, false)]
    public void ArityAccepts_FollowsRedis(string name, int argc, bool expected) =>
        Assert.Equal(expected, CommandTable.Find(Encoding.ASCII.GetBytes(name))!.ArityAccepts(argc));

    [Theory]
    [InlineData("ping", CommandHandling.Local)]
    [InlineData("quit", CommandHandling.Local)]
    [InlineData("select", CommandHandling.Local)]
    [InlineData("get", CommandHandling.Forward)]
    [InlineData("info", CommandHandling.Forward)]
    [InlineData("multi", CommandHandling.Pinned)]
    [InlineData("subscribe", CommandHandling.Pinned)]
    [InlineData("blpop", CommandHandling.Pinned)]
    [InlineData("wait", CommandHandling.Pinned)]
    [InlineData("xread", CommandHandling.Forward)]
    [InlineData("monitor", CommandHandling.Unsupported)]
    [InlineData("swapdb", CommandHandling.Unsupported)]
    [InlineData("move", CommandHandling.Unsupported)]
    public void Handling_OfCommands(string name, CommandHandling expected) =>
        Assert.Equal(expected, CommandTable.Find(Encoding.ASCII.GetBytes(name))!.Handling);

    [Theory]
    [InlineData("client", "setname", CommandHandling.Local)]
    [InlineData("client", "list", CommandHandling.Local)]
    [InlineData("client", "kill", CommandHandling.Local)]
    [InlineData("client", "tracking", CommandHandling.Forward)] // ON takes a connection whole (PassThroughSession)
    [InlineData("command", "count", CommandHandling.Local)]
    [InlineData("command", "getkeys", CommandHandling.Forward)]
    [InlineData("config", "get", CommandHandling.Forward)]
    [InlineData("config", "set", CommandHandling.Unsupported)]
    [InlineData("slowlog", "get", CommandHandling.Forward)]
    [InlineData("acl", "setuser", CommandHandling.Unsupported)]
    public void Handling_OfSubcommands(string container, string sub, CommandHandling expected)
    {
        var parent = CommandTable.Find(Encoding.ASCII.GetBytes(container))!;
        Assert.Equal(expected, CommandTable.FindSubcommand(parent, Encoding.ASCII.GetBytes(sub))!.Handling);
    }

    [Fact]
    public void EveryPinnedOrUnsupportedEntryHasAReasonAndOthersNone()
    {
        foreach (var info in CommandTable.All.Concat(CommandTable.All.SelectMany(c => c.Subcommands)))
        {
            bool refused = info.Handling is CommandHandling.Pinned or CommandHandling.Unsupported;
            Assert.Equal(refused, info.Reason is not null);
            Assert.Equal(refused, info.RefusalMessage is not null);
        }
    }

    [Fact]
    public void RefusalMessage_NamesTheCommandAndTheReason()
    {
        var monitor = CommandTable.Find("monitor"u8)!;
        Assert.Equal("ERR 'MONITOR' is not supported by rampart: it streams every command the server runs, other clients' included (a pool's 'commands: allow' list can let it through)", monitor.RefusalMessage);
        Assert.Equal(monitor.RefusalMessage, Encoding.UTF8.GetString(monitor.RefusalMessageBytes.Span));
        var pause = CommandTable.FindSubcommand(CommandTable.Find("client"u8)!, "pause"u8)!;
        Assert.StartsWith("ERR 'CLIENT PAUSE' is not supported by rampart: ", pause.RefusalMessage);
    }

    [Fact]
    public void MultiKeySplittable_IsExactlyTheSplittableSix()
    {
        var names = CommandTable.All.Where(c => c.MultiKeySplittable).Select(c => c.Name).Order().ToArray();
        Assert.Equal(["del", "exists", "mget", "mset", "touch", "unlink"], names);
        Assert.Equal(2, CommandTable.Find("mset"u8)!.Step);
    }

    [Theory]
    [InlineData(true, "BLPOP", "a", "0")]
    [InlineData(true, "XREAD", "BLOCK", "0", "STREAMS", "s", "0")]
    [InlineData(true, "xreadgroup", "GROUP", "g", "c", "block", "10", "STREAMS", "s", ">")]
    [InlineData(false, "XREAD", "COUNT", "1", "STREAMS", "s", "0")]
    [InlineData(false, "XREAD", "STREAMS", "BLOCK", "0")]                // BLOCK is a stream name here
    [InlineData(false, "XREADGROUP", "GROUP", "g", "BLOCK", "STREAMS", "s", ">")] // BLOCK is the consumer
    [InlineData(false, "GET", "k")]
    public void IsBlockingCall_SeesXreadBlockOption(bool expected, params string[] args) =>
        Assert.Equal(expected, With(args, r => CommandTable.Resolve(r)!.IsBlockingCall(r)));

    [Theory]
    [InlineData(new[] { 1 }, "GET", "k")]
    [InlineData(new[] { 1, 3, 5 }, "MSET", "a", "1", "b", "2", "c", "3")]
    [InlineData(new[] { 1, 2, 3 }, "DEL", "a", "b", "c")]
    [InlineData(new[] { 2 }, "OBJECT", "ENCODING", "k")]
    [InlineData(new int[0], "PING")]
    [InlineData(new int[0], "EVAL", "return 1", "0")]
    [InlineData(new[] { 3, 4 }, "EVAL", "return 1", "2", "a", "b", "arg")]
    [InlineData(new[] { 1, 3, 4 }, "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2")]
    [InlineData(new[] { 3 }, "BLMPOP", "0", "1", "a", "LEFT")]
    [InlineData(new[] { 2, 3 }, "ZINTER", "2", "a", "b")]
    [InlineData(new[] { 4, 5 }, "XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0")]
    [InlineData(new[] { 1, 8 }, "SORT", "k", "LIMIT", "0", "1", "GET", "#", "STORE", "dst")]
    [InlineData(new[] { 1 }, "SORT_RO", "k", "BY", "w_*")]
    [InlineData(new[] { 3 }, "MIGRATE", "h", "1", "k", "0", "10")]
    [InlineData(new[] { 9, 10 }, "MIGRATE", "h", "1", "", "0", "10", "AUTH", "keys", "KEYS", "a", "b")]
    [InlineData(new[] { 1, 7, 9 }, "GEORADIUS", "k", "0", "0", "1", "m", "STORE", "s", "STOREDIST", "d")]
    public void GetKeys_YieldsArgumentIndexes(int[] expected, params string[] args) =>
        Assert.Equal(expected, KeyIndexes(args));

    [Fact]
    public void FirstKeyIndex_IsMinusOneWhenKeyless()
    {
        Assert.Equal(1, With(["SET", "k", "v"], r => CommandTable.Resolve(r)!.FirstKeyIndex(r)));
        Assert.Equal(-1, With(["PING"], r => CommandTable.Resolve(r)!.FirstKeyIndex(r)));
        Assert.Equal(-1, With(["EVAL", "s", "x"], r => CommandTable.Resolve(r)!.FirstKeyIndex(r)));
    }

    [Theory]
    [InlineData("ERR value is not an integer or out of range", "EVAL", "s", "x", "a")]
    [InlineData("ERR value is not an integer or out of range", "EVAL", "s", "01", "a")]
    [InlineData("ERR Number of keys can't be negative", "EVAL", "s", "-1", "a")]
    [InlineData("ERR Number of keys can't be greater than number of args", "EVAL", "s", "2", "a")]
    [InlineData("ERR Bad number of keys provided", "FCALL", "f", "x")]
    [InlineData("ERR at least 1 input key is needed for 'zunionstore' command", "ZUNIONSTORE", "d", "0", "a")]
    [InlineData("ERR syntax error", "ZUNION", "3", "a", "b")]
    [InlineData("ERR numkeys should be greater than 0", "SINTERCARD", "0", "a")]
    [InlineData("ERR Number of keys can't be greater than number of args", "SINTERCARD", "3", "a")]
    [InlineData("ERR numkeys should be greater than 0", "LMPOP", "-1", "a", "LEFT")]
    [InlineData("ERR syntax error", "XREAD", "COUNT", "1", "a", "b")]
    [InlineData("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.", "XREAD", "STREAMS", "a", "b", "c")]
    [InlineData("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string", "MIGRATE", "h", "1", "k", "0", "10", "KEYS", "a")]
    [InlineData("ERR wrong number of arguments for 'get' command", "GET")]
    [InlineData("ERR wrong number of arguments for 'client|setname' command", "CLIENT", "SETNAME")]
    public void GetKeys_ReportsMalformedRequestsWithRedisErrors(string expected, params string[] args)
    {
        Assert.Null(KeyIndexes(args));
        Assert.Equal(expected, KeyErrorMessage(args));
    }
}
