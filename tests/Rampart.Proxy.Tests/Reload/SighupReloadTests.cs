using System.Net;
using System.Net.Sockets;
using Rampart.Proxy.Tests.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Reload;

/// <summary>Reload through the real executable: SIGHUP, and the file watch (<c>--watch-config</c>, <c>watch_config: true</c>).</summary>
public sealed class SighupReloadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-sighup-").FullName;

    private static string Pool(string name, int port, params RedisServerProcess[] servers) =>
        $"{name}:\n  listen: 127.0.0.1:{port}\n  redis: true\n  timeout: 2000\n  servers:\n"
        + string.Concat(servers.Select((s, i) => $"    - 127.0.0.1:{s.Port}:1 {name}{i}\n"));

    /// <summary>Writes <paramref name="yaml"/> to <paramref name="path"/> and runs <c>rampart serve</c> on it, until it serves.</summary>
    private static RampartProcess Serve(string path, string yaml)
    {
        File.WriteAllText(path, yaml);
        var rampart = RampartProcess.Start("serve", "--config", path);
        if (rampart.WaitForOutput("running with", TimeSpan.FromSeconds(20))) return rampart;
        rampart.Dispose();
        throw new Xunit.Sdk.XunitException("rampart did not start:\n" + rampart.Output);
    }

    [Fact]
    public async Task Sighup_BrokenFileKeepsRunning_ThenAddsServerAndPool_ClientsSeeNoError()
    {
        using var a = RedisServerProcess.Start();
        using var b = RedisServerProcess.Start();
        int main = FreePort.Next(), extra = FreePort.Next();
        string path = Path.Combine(_dir, "rampart.yml");
        using var rampart = Serve(path, Pool("main", main, a));

        var loop = new SetGetClientLoop(main, 20);
        loop.Start();
        try
        {
            await loop.WaitForProgressAsync(20);

            File.WriteAllText(path, Pool("main", main, a) + "  distribution: ketama2\n");
            rampart.Signal("HUP");
            Assert.True(rampart.WaitForOutput($"Configuration reload failed (SIGHUP, {path})", TimeSpan.FromSeconds(10)), rampart.Output);
            Assert.Contains($"{path}:7: pool 'main': distribution 'ketama2' is not valid", rampart.Output);
            await loop.WaitForProgressAsync(20);

            File.WriteAllText(path, Pool("main", main, a, b) + Pool("extra", extra, b));
            rampart.Signal("HUP");
            Assert.True(rampart.WaitForOutput("Configuration reload applied", TimeSpan.FromSeconds(10)), rampart.Output);
            Assert.Contains($"server +main1 (127.0.0.1:{b.Port})", rampart.Output);
            Assert.Contains("pool 'extra' added", rampart.Output);
            using (var client = RespTestClient.ConnectTcp(extra))
            {
                Assert.Equal("OK", client.Call("SET", "via-extra", "yes"));
                Assert.Equal("yes"u8.ToArray(), client.Call("GET", "via-extra"));
            }
            await loop.WaitForProgressAsync(20);
        }
        finally
        {
            await loop.StopAsync();
        }
        Assert.Empty(loop.Failures);
        Assert.All(loop.Connections, client => Assert.Equal("PONG", client.Call("PING")));
        loop.Dispose();
        Assert.False(rampart.HasExited);
        rampart.Signal("TERM");
        Assert.True(rampart.WaitForExit(TimeSpan.FromSeconds(15)), rampart.Output);
        Assert.Equal(0, rampart.ExitCode);
    }

    [Fact]
    public void Sighup_FileNestedAHundredThousandDeep_IsRefused_TheProcessServesOnWithTheOldConfig()
    {
        using var redis = RedisServerProcess.Start();
        int main = FreePort.Next(), moved = FreePort.Next();
        string path = Path.Combine(_dir, "deep.yml");
        using var rampart = Serve(path, Pool("main", main, redis));
        using var before = RespTestClient.ConnectTcp(main);
        Assert.Equal("OK", before.Call("SET", "deep", "old config"));

        // The pool moves to another port, and line 7 nests 100,000 lists: this used to end the process with
        // "Stack overflow". Were any of it applied, the pool would listen on the new port.
        File.WriteAllText(path, Pool("main", moved, redis) + "  hash_tag: " + ConfigText.Nested("[", "]", 100_000) + "\n");
        rampart.Signal("HUP");
        Assert.True(rampart.WaitForOutput($"Configuration reload failed (SIGHUP, {path})", TimeSpan.FromSeconds(10)), rampart.Output);
        Assert.Contains($"{path}:7: lists and mappings are nested more than 64 levels deep", rampart.Output);

        Assert.False(rampart.HasExited, rampart.Output);
        Assert.Equal("old config"u8.ToArray(), before.Call("GET", "deep"));
        using (var after = RespTestClient.ConnectTcp(main))
            Assert.Equal("old config"u8.ToArray(), after.Call("GET", "deep"));
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            Assert.Throws<SocketException>(() => probe.Connect(IPAddress.Loopback, moved));

        rampart.Signal("TERM");
        Assert.True(rampart.WaitForExit(TimeSpan.FromSeconds(15)), rampart.Output);
        Assert.Equal(0, rampart.ExitCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WatchedFile_ReloadsWhenItChanges_InPlaceOrReplacedByRename(bool fromCommandLine)
    {
        using var redis = RedisServerProcess.Start();
        int main = FreePort.Next(), added = FreePort.Next();
        string path = Path.Combine(_dir, $"watched-{fromCommandLine}.yml");
        string settings = fromCommandLine ? "" : "rampart:\n  watch_config: true\n";
        File.WriteAllText(path, settings + Pool("main", main, redis));
        using var rampart = fromCommandLine
            ? RampartProcess.Start("serve", "--config", path, "--watch-config")
            : RampartProcess.Start("serve", "--config", path);
        Assert.True(rampart.WaitForOutput("Watching", TimeSpan.FromSeconds(20)), rampart.Output);

        string next = settings + Pool("main", main, redis) + Pool("added", added, redis);
        if (fromCommandLine)
        {
            File.WriteAllText(path, next);
        }
        else
        {
            // As sed -i and most configuration tools do: write a new file, rename it over the old one.
            File.WriteAllText(path + ".tmp", next);
            File.Move(path + ".tmp", path, overwrite: true);
        }

        Assert.True(rampart.WaitForOutput("Configuration reload applied", TimeSpan.FromSeconds(10)), rampart.Output);
        Assert.Contains($"Configuration reload applied (the file changed, {path}): pool 'added' added", rampart.Output);
        using var client = RespTestClient.ConnectTcp(added);
        Assert.Equal("PONG", client.Call("PING"));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
