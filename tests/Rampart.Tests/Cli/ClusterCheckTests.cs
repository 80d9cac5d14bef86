using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Tests.Cli;

/// <summary><c>rampart check</c> on a pool with a <c>cluster:</c> block, run against the real executable.</summary>
public sealed class ClusterCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-cli-cluster-").FullName;

    private string WriteConfig(string yaml)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.yml");
        File.WriteAllText(path, yaml);
        return path;
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
    public void Check_BrokenClusterBlock_ExitsOneWithFileLineReason()
    {
        string path = WriteConfig("shop:\n  listen: 127.0.0.1:6380\n  redis: true\n  cluster:\n    nodes: [10.0.0.1:7000]\n    user: app\n  hash: murmur\n");
        var (code, output) = RampartProcess.Run("check", "--config", path);
        Assert.Equal(1, code);
        Assert.Contains($"{path}:6: pool 'shop' cluster: user 'app' has no password", output);
        Assert.Contains($"{path}:7: pool 'shop': hash cannot be set in a cluster pool (cluster at line 4)", output);
        Assert.DoesNotContain("syntax is ok", output);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
