using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Tests.Cli;

/// <summary>The command-line contract, run against the real executable.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-cli-").FullName;

    private string WriteConfig(string yaml)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.yml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void Check_ValidConfig_ExitsZero()
    {
        string path = WriteConfig("alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n");
        var (code, output) = RampartProcess.Run("check", "--config", path);
        Assert.Equal(0, code);
        Assert.Contains("syntax is ok", output);
    }

    [Fact]
    public void Check_BrokenConfig_ExitsOneWithFileLineReason()
    {
        string path = WriteConfig("alpha:\n  listen: 127.0.0.1:22121\n  hash: nope\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n");
        var (code, output) = RampartProcess.Run("check", "--config", path);
        Assert.Equal(1, code);
        Assert.Contains($"{path}:3:", output);
        Assert.Contains("nope", output);
    }

    [Fact]
    public void Check_MissingFile_ExitsOne()
    {
        var (code, output) = RampartProcess.Run("check", "--config", Path.Combine(_dir, "absent.yml"));
        Assert.Equal(1, code);
        Assert.Contains("absent.yml", output);
    }

    [Fact]
    public void Check_ClusterPool_DescribesSeedsAndInterval_NotThePassword()
    {
        string path = WriteConfig("shop:\n  listen: 127.0.0.1:6380\n  redis: true\n  cluster:\n    nodes: [10.0.0.1:7000, \"[::1]:7001\"]\n"
            + "    user: app\n    password: hunter2-secret\n    refresh_interval: 250\n"
            + "cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n");
        var (code, output) = RampartProcess.Run("check", "--config", path);
        Assert.Equal(0, code);
        Assert.Contains("syntax is ok", output);
        Assert.Contains("pool 'shop' (listen 127.0.0.1:6380): Redis Cluster from seeds 10.0.0.1:7000, [::1]:7001; slot map checked every 250 ms; user 'app' with a password", output);
        Assert.DoesNotContain("hunter2", output);
        Assert.DoesNotContain("pool 'cache'", output); // a plain pool prints what nutcracker -t prints, nothing more
    }

    [Fact]
    public void Check_AclUsers_DescribesThemWithoutPasswordsOrHashes()
    {
        string path = WriteConfig("rampart:\n  acl:\n    - user alice on >hunter2-secret ~app:* &news.* +@read -@dangerous\n"
            + "cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  redis_auth: other-secret\n  users: [alice]\n  servers:\n    - 127.0.0.1:6379:1\n");
        var (code, output) = RampartProcess.Run("check", "--config", path);
        Assert.Equal(0, code);
        Assert.Contains("acl user alice on (1 password) ~app:* resetchannels &news.* -@all +@read -@dangerous", output);
        Assert.Contains("acl user default: not listed", output);
        Assert.Contains("pool 'cache' admits users alice", output);
        Assert.DoesNotContain("hunter2", output);
        Assert.DoesNotContain("other-secret", output);
        Assert.DoesNotContain("#", output); // no hash either
    }

    [Fact]
    public void Check_BrokenClusterBlock_ExitsOneWithFileLineReason()
    {
        string path = WriteConfig("shop:\n  listen: 127.0.0.1:6380\n  redis: true\n  cluster:\n    nodes: [10.0.0.1:7000]\n    user: app\n  hash: murmur\n");
        var (code, output) = RampartProcess.Run("check", "--config", path);
        Assert.Equal(1, code);
        Assert.Contains($"{path}:6: pool 'shop' cluster: user 'app' has no password", output);
        Assert.Contains($"{path}:7: pool 'shop': hash cannot be set in a cluster pool (cluster at line 4)", output);
        Assert.DoesNotContain("syntax is ok", output);
    }

    [Fact]
    public void Version_PrintsVersion()
    {
        var (code, output) = RampartProcess.Run("--version");
        Assert.Equal(0, code);
        Assert.Matches(@"\d+\.\d+\.\d+", output);
    }

    [Fact]
    public void Help_ListsTheCommands()
    {
        var (code, output) = RampartProcess.Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("serve", output);
        Assert.Contains("check", output);
        Assert.Contains("demo", output);
    }

    [Fact]
    public void Serve_ForwardsTraffic_AndStopsGracefullyOnSigterm()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        string path = WriteConfig($"alpha:\n  listen: 127.0.0.1:{port}\n  redis: true\n  servers:\n    - 127.0.0.1:{redis.Port}:1\n");
        using var rampart = RampartProcess.Start("serve", "--config", path);
        Assert.True(rampart.WaitForOutput("listening", TimeSpan.FromSeconds(20)), rampart.Output);

        using var client = new RawClient(port);
        client.Send(RespText.Command("SET", "cli", "works") + RespText.Command("GET", "cli"));
        Assert.Equal("+OK", client.ReadLine());
        Assert.Equal("$5", client.ReadLine());
        Assert.Equal("works", client.ReadLine());

        rampart.Signal("HUP");
        Thread.Sleep(200);
        Assert.False(rampart.HasExited, "SIGHUP must not kill the proxy");

        rampart.Signal("TERM");
        Assert.True(rampart.WaitForExit(TimeSpan.FromSeconds(15)), rampart.Output);
        Assert.Equal(0, rampart.ExitCode);
        Assert.Contains("Stopped", rampart.Output);
    }

    [Fact]
    public void Serve_BrokenConfig_RefusesToStart()
    {
        string path = WriteConfig("alpha:\n  listen: 127.0.0.1:1\n  servers: []\n  bogus: 1\n  redis: true\n");
        var (code, output) = RampartProcess.Run("serve", "--config", path);
        Assert.Equal(1, code);
        Assert.Contains($"{path}:", output);
    }

    [Fact]
    public void Serve_ListenAddressInUse_ExitsOneNamingTheAddressAndThePool()
    {
        using var busy = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        int port = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;
        string path = WriteConfig($"alpha:\n  listen: 127.0.0.1:{port}\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n");
        var (code, output) = RampartProcess.Run("serve", "--config", path);
        Assert.Equal(1, code);
        Assert.Contains($"Cannot start: {path}:1: pool 'alpha': cannot listen on 127.0.0.1:{port}: Address already in use", output);
    }

    [Theory]
    [InlineData("check")]
    [InlineData("serve")]
    public void DeeplyNestedFile_ExitsOneWithFileLineReason_NotAStackOverflow(string command)
    {
        // 100,000 levels of '[' on line 6 used to abort the process (exit 134, "Stack overflow").
        string path = WriteConfig(ConfigText.PoolWithLine6("  hash_tag: " + ConfigText.Nested("[", "]", 100_000)));
        var (code, output) = RampartProcess.Run(command, "--config", path);
        Assert.Equal(1, code);
        Assert.Equal($"{path}:6: lists and mappings are nested more than 64 levels deep; the limit is 64 (a configuration needs 3 or 4)",
            output.Trim());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
