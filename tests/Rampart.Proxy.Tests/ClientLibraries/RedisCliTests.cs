using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.ClientLibraries;

/// <summary>redis-cli through a 3-server pool.</summary>
public sealed class RedisCliShardedTests(ShardedPoolFixture fixture) : RedisCliTests(fixture), IClassFixture<ShardedPoolFixture>;

/// <summary>redis-cli, plain, through a cluster pool: keys spread over the cluster's masters by Rampart.</summary>
public sealed class RedisCliClusterTests(ClusterPoolFixture fixture) : RedisCliTests(fixture), IClassFixture<ClusterPoolFixture>;

/// <summary>
/// redis-cli -c (cluster mode, which follows MOVED and ASK itself) through a cluster pool: Rampart owns every slot, so
/// it is never redirected and prints what plain redis-cli prints.
/// </summary>
public sealed class RedisCliClusterModeTests(ClusterPoolFixture fixture) : RedisCliTests(fixture, "-c"), IClassFixture<ClusterPoolFixture>;

/// <summary>
/// The real redis-cli through a pool of several servers, with no option beyond host and port (and
/// <paramref name="options"/>): commands as arguments, -x, -r, commands piped on standard input, --eval and --pipe mass
/// insertion. Values are unique per run and read back from the server that owns each key.
/// </summary>
public abstract class RedisCliTests(IProxiedPool fixture, params string[] options)
{
    private Task<ProgramResult> Cli(params string[] args) => CliWithInput(null, args);

    private Task<ProgramResult> CliWithInput(byte[]? stdin, params string[] args) =>
        ExternalProgram.RunAsync("redis-cli", [.. options, "-h", "127.0.0.1", "-p", fixture.Rampart.Port.ToString(), .. args], stdin);

    private static string Unique(string name) => $"cli:{name}:{Guid.NewGuid():N}";

    private static string[] OutputLines(ProgramResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public async Task CommandsAsArguments_StringsHashesListsExpiry()
    {
        // s and t live on two different servers; each value is read where it lives.
        var apart = fixture.KeysOnEveryServer("cli:s");
        string s = apart[0], t = apart[1], h = Unique("h"), l = Unique("l"), value = Guid.NewGuid().ToString("N");
        Assert.Equal(["OK"], OutputLines(await Cli("SET", s, value)));
        Assert.Equal([value], OutputLines(await Cli("GET", s)));
        Assert.Equal(value, fixture.DirectGet(s));
        Assert.Equal(["OK"], OutputLines(await Cli("SET", t, value + "t")));
        Assert.Equal(value + "t", fixture.DirectGet(t));
        Assert.Equal(["2"], OutputLines(await Cli("HSET", h, "f", value, "g", "2")));
        Assert.Equal(["f", value, "g", "2"], OutputLines(await Cli("HGETALL", h)));
        Assert.Equal(["3"], OutputLines(await Cli("RPUSH", l, "a", value, "c")));
        Assert.Equal(["a", value, "c"], OutputLines(await Cli("LRANGE", l, "0", "-1")));
        Assert.Equal(["1"], OutputLines(await Cli("EXPIRE", s, "100")));
        Assert.InRange(int.Parse(OutputLines(await Cli("TTL", s))[0]), 90, 100);
        Assert.Equal(["ERR unknown command 'NOSUCH', with args beginning with: "], OutputLines(await Cli("NOSUCH")));
    }

    [Fact]
    public async Task DashX_ReadsTheLastArgumentFromStandardInput()
    {
        string key = Unique("x");
        byte[] payload = Encoding.UTF8.GetBytes($"line one {Guid.NewGuid()}\nline two\n");
        Assert.Equal(["OK"], OutputLines(await CliWithInput(payload, "-x", "SET", key)));
        Assert.Equal(Encoding.UTF8.GetString(payload), fixture.DirectGet(key));
        Assert.Equal([payload.Length.ToString()], OutputLines(await Cli("STRLEN", key)));
    }

    [Fact]
    public async Task CommandsOnStandardInput_RunInOrder_EachWithItsReply()
    {
        string a = Unique("a"), b = Unique("b"), value = Guid.NewGuid().ToString("N");
        string script = $"SET {a} 10\nINCRBY {a} 5\nSET {b} {value}\nGET {a}\nGET {b}\nMGET {a} {b}\nDEL {a} {b}\nEXISTS {a}\n";
        var lines = OutputLines(await CliWithInput(Encoding.UTF8.GetBytes(script)));
        Assert.Equal(["OK", "15", "OK", "15", value, "15", value, "2", "0"], lines);
    }

    [Fact]
    public async Task RepeatOption_SendsTheCommandNTimes()
    {
        string key = Unique("r");
        Assert.Equal(["1", "2", "3", "4", "5"], OutputLines(await Cli("-r", "5", "INCR", key)));
        Assert.Equal("5", fixture.DirectGet(key));
    }

    [Fact]
    public async Task Eval_ByFile_RunsOnTheServerOfItsKey()
    {
        string key = Unique("eval"), value = Guid.NewGuid().ToString("N");
        string file = Path.Combine(Path.GetTempPath(), $"rampart-cli-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(file, "redis.call('SET', KEYS[1], ARGV[1]) return {KEYS[1], redis.call('GET', KEYS[1])}");
        try
        {
            Assert.Equal([key, value], OutputLines(await Cli("--eval", file, key, ",", value)));
            Assert.Equal(value, fixture.DirectGet(key));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task PipeMode_MassInsertion_EveryReplyCounted_EveryValueOnItsServer()
    {
        const int count = 2000;
        string prefix = Unique("pipe");
        var input = new MemoryStream();
        for (int i = 0; i < count; i++)
        {
            input.Write(RespTestClient.Command("SET", $"{prefix}:{i}", $"value-{i}-{prefix}"));
            if (i % 100 == 0) input.Write(RespTestClient.Command("MSET", $"{prefix}:m{i}", "a", $"{prefix}:n{i}", "b"));
        }
        var result = await CliWithInput(input.ToArray(), "--pipe");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"errors: 0, replies: {count + count / 100}", result.Stdout);
        var owners = new HashSet<int>();
        for (int i = 0; i < count; i += 97)
        {
            string key = $"{prefix}:{i}";
            Assert.Equal($"value-{i}-{prefix}", fixture.DirectGet(key));
            owners.Add(fixture.OwnerOf(key).Port);
        }
        Assert.Equal(3, owners.Count);
        Assert.Equal("b", fixture.DirectGet($"{prefix}:n1900"));
    }

    [Fact]
    public async Task ClientCommands_AnswerAboutTheCliItself()
    {
        var lines = OutputLines(await CliWithInput(Encoding.UTF8.GetBytes("CLIENT SETNAME cli-test\nCLIENT GETNAME\nCLIENT INFO\n")));
        Assert.Equal("OK", lines[0]);
        Assert.Equal("cli-test", lines[1]);
        Assert.Contains(" name=cli-test ", lines[2]);
        Assert.Contains(" cmd=client|info ", lines[2]);
    }

    [Fact]
    public async Task Transaction_OnStandardInput_QueuedThenExecuted()
    {
        string tag = Guid.NewGuid().ToString("N");
        string script = $"MULTI\nINCR {{{tag}}}:n\nINCRBY {{{tag}}}:n 10\nSET {{{tag}}}:s done\nEXEC\nGET {{{tag}}}:s\n";
        var lines = OutputLines(await CliWithInput(Encoding.UTF8.GetBytes(script)));
        Assert.Equal(["OK", "QUEUED", "QUEUED", "QUEUED", "1", "11", "OK", "done"], lines);
        Assert.Equal("11", fixture.DirectGet($"{{{tag}}}:n"));
    }

    [Fact]
    public Task Subscribe_PrintsEachPublishedMessage() => SubscribePrintsEachPublishedMessage("cli", options);

    /// <summary>redis-cli SUBSCRIBE through Rampart (with <paramref name="options"/>): each message printed as published.</summary>
    private async Task SubscribePrintsEachPublishedMessage(string prefix, string[] cliOptions)
    {
        string channel = $"{prefix}:ch:{Guid.NewGuid():N}";
        var psi = new System.Diagnostics.ProcessStartInfo("redis-cli")
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in cliOptions.Concat(["-h", "127.0.0.1", "-p", fixture.Rampart.Port.ToString(), "SUBSCRIBE", channel]))
            psi.ArgumentList.Add(arg);
        using var cli = System.Diagnostics.Process.Start(psi)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            async Task<string> Line() => await cli.StandardOutput.ReadLineAsync(timeout.Token) ?? throw new IOException("redis-cli ended");
            Assert.Equal(["subscribe", channel, "1"], [await Line(), await Line(), await Line()]);
            using var publisher = RespTestClient.ConnectTcp(fixture.Rampart.Port);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(1L, publisher.Call("PUBLISH", channel, $"hello {i}"));
                Assert.Equal(["message", channel, $"hello {i}"], [await Line(), await Line(), await Line()]);
            }
        }
        finally
        {
            cli.Kill(entireProcessTree: true);
            await cli.WaitForExitAsync();
        }
    }

    /// <summary>
    /// redis-cli -3 (HELLO 3): the same commands piped through Rampart and straight to the server owning their keys
    /// print the same, so the replies had Redis's RESP3 types (maps, sets, doubles, RESP3 nulls).
    /// </summary>
    [Fact]
    public async Task Resp3_PrintsWhatTheServerItselfPrints()
    {
        string Commands(string tag) => string.Join('\n', (string[])
        [
            $"SET {{{tag}}}:s v", $"GET {{{tag}}}:s", $"GET {{{tag}}}:none", $"MGET {{{tag}}}:s {{{tag}}}:none",
            $"HSET {{{tag}}}:h f 1 g 2", $"HGETALL {{{tag}}}:h", $"SADD {{{tag}}}:set a", $"SMEMBERS {{{tag}}}:set",
            $"ZADD {{{tag}}}:z 1.5 m", $"ZSCORE {{{tag}}}:z m", "CLIENT GETNAME", "PING", $"BLPOP {{{tag}}}:l 0.05",
            "MULTI", $"INCR {{{tag}}}:n", $"GET {{{tag}}}:none", "EXEC",
        ]) + "\n";
        string proxiedTag = Guid.NewGuid().ToString("N"), directTag = Guid.NewGuid().ToString("N");
        var owner = fixture.OwnerOf($"{{{directTag}}}:s");
        var proxied = await CliWithInput(Encoding.UTF8.GetBytes(Commands(proxiedTag)), "-3");
        var direct = await ExternalProgram.RunAsync("redis-cli", ["-3", "-h", "127.0.0.1", "-p", owner.Port.ToString()],
            Encoding.UTF8.GetBytes(Commands(directTag)));
        Assert.Equal(OutputLines(direct), OutputLines(proxied));
        Assert.Contains("1.5", OutputLines(proxied));
    }

    [Fact]
    public Task Resp3_Subscribe_PrintsEachPublishedMessage() => SubscribePrintsEachPublishedMessage("cli3", [.. options, "-3"]);
}
