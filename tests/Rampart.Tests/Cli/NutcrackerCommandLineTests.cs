using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Tests.Cli;

/// <summary>nutcracker's flags on the real executable: a unit file changes only the binary name. Never port 22222.</summary>
public sealed class NutcrackerCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-nutcli-").FullName;

    private string WriteConfig(string yaml)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.yml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void TestConf_Valid_ExitsZero()
    {
        string path = WriteConfig("alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n");
        var (code, output) = RampartProcess.Run("-t", "-c", path);
        Assert.Equal(0, code);
        Assert.Contains($"configuration file '{path}' syntax is ok", output);
        (code, _) = RampartProcess.Run("--test-conf", "--conf-file", path);
        Assert.Equal(0, code);
    }

    [Fact]
    public void TestConf_Invalid_ExitsOneWithFileLine()
    {
        string path = WriteConfig("alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  hash: nope\n  servers:\n    - 127.0.0.1:6379:1\n");
        var (code, output) = RampartProcess.Run("-t", "-c", path);
        Assert.Equal(1, code);
        Assert.Contains($"{path}:4:", output);
    }

    [Fact]
    public void Daemonize_IsRefused()
    {
        string path = WriteConfig("alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n");
        var (code, output) = RampartProcess.Run("-d", "-c", path, "-s", FreePort.Next().ToString());
        Assert.Equal(1, code);
        Assert.Contains("rampart does not daemonize; run it under systemd (Type=simple) or your supervisor", output);
    }

    [Fact]
    public void MbufSize_PrintsANotice()
    {
        string path = WriteConfig("alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n");
        var (code, output) = RampartProcess.Run("-t", "-c", path, "-m", "512");
        Assert.Equal(0, code);
        Assert.Contains("-m/--mbuf-size 512 has no effect", output);
    }

    [Fact]
    public void CapitalV_PrintsVersion()
    {
        var (code, output) = RampartProcess.Run("-V");
        Assert.Equal(0, code);
        Assert.Matches(@"\d+\.\d+\.\d+", output);
    }

    [Fact]
    public void DescribeStats_ListsNutcrackersFields()
    {
        var (code, output) = RampartProcess.Run("-D");
        Assert.Equal(0, code);
        Assert.Contains("pool stats:", output);
        Assert.Contains("  client_eof          \"# eof on client connections\"", output);
        Assert.Contains("  out_queue_bytes     \"current request bytes in incoming queue\"".Replace("incoming", "outgoing"), output);
    }

    [Fact]
    public void NoArguments_StillAsksForACommand()
    {
        var (code, output) = RampartProcess.Run();
        Assert.Equal(1, code);
        Assert.Contains("serve", output);
    }

    [Fact]
    public void BadStatsPort_IsAnError()
    {
        var (code, output) = RampartProcess.Run("-c", "x.yml", "-s", "70000");
        Assert.Equal(1, code);
        Assert.Contains("not a valid port", output);
    }

    [Fact]
    public void ConfFile_ServesTrafficAndStats_WritesAndRemovesThePidFile_LogsToTheOutputFile()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        int statsPort = FreePort.Next();
        string pidFile = Path.Combine(_dir, "rampart.pid");
        string logFile = Path.Combine(_dir, "rampart.log");
        string path = WriteConfig($"alpha:\n  listen: 127.0.0.1:{port}\n  redis: true\n  servers:\n    - 127.0.0.1:{redis.Port}:1 cache-1\n");
        using var rampart = RampartProcess.Start("-c", path, "-s", statsPort.ToString(), "-a", "127.0.0.1", "-i", "10000",
            "-p", pidFile, "-o", logFile, "-v", "6");
        Assert.True(Poll.WaitUntil(() => File.Exists(logFile) && File.ReadAllText(logFile).Contains("running with"), TimeSpan.FromSeconds(20)),
            rampart.Output + (File.Exists(logFile) ? File.ReadAllText(logFile) : ""));
        Assert.Equal(rampart.Pid.ToString(), File.ReadAllText(pidFile).Trim());

        using (var client = new RawClient(port))
        {
            client.Send(RespText.Command("SET", "nut", "cracker") + RespText.Command("GET", "nut"));
            Assert.Equal("+OK", client.ReadLine());
            Assert.Equal("$7", client.ReadLine());
            Assert.Equal("cracker", client.ReadLine());
        }

        var stats = StatsReader.Read(statsPort);
        Assert.Equal(2, stats.GetProperty("alpha").GetProperty("cache-1").GetProperty("requests").GetInt64());
        Assert.Equal(2, stats.GetProperty("alpha").GetProperty("cache-1").GetProperty("responses").GetInt64());

        rampart.Signal("TERM");
        Assert.True(rampart.WaitForExit(TimeSpan.FromSeconds(15)), rampart.Output);
        Assert.Equal(0, rampart.ExitCode);
        Assert.False(File.Exists(pidFile), "the pid file is removed on exit");
        string log = File.ReadAllText(logFile);
        Assert.Contains("listening on", log);
        Assert.Contains("Stopped", log);
        Assert.DoesNotContain("listening on", rampart.Output); // the log went to the file, not the console
    }

    [Fact]
    public void Serve_StatsPortOnlyWhenAsked()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        int statsPort = FreePort.Next();
        string path = WriteConfig($"alpha:\n  listen: 127.0.0.1:{port}\n  redis: true\n  servers:\n    - 127.0.0.1:{redis.Port}:1\n");
        using (var plain = RampartProcess.Start("serve", "--config", path))
        {
            Assert.True(plain.WaitForOutput("running with", TimeSpan.FromSeconds(20)), plain.Output);
            Assert.DoesNotContain("Stats on", plain.Output);
            plain.Signal("TERM");
            Assert.True(plain.WaitForExit(TimeSpan.FromSeconds(15)), plain.Output);
        }
        using var withStats = RampartProcess.Start("serve", "--config", path, "--stats-port", statsPort.ToString(), "--stats-addr", "127.0.0.1");
        Assert.True(withStats.WaitForOutput("running with", TimeSpan.FromSeconds(20)), withStats.Output);
        var stats = StatsReader.Read(statsPort);
        Assert.Equal("rampart", stats.GetProperty("service").GetString());
        Assert.Equal(JsonValueKind.Object, stats.GetProperty("alpha").GetProperty($"127.0.0.1:{redis.Port}").ValueKind);
        withStats.Signal("TERM");
        Assert.True(withStats.WaitForExit(TimeSpan.FromSeconds(15)), withStats.Output);
    }

    [Fact]
    public void StatsPortInUse_RefusesToStart()
    {
        using var redis = RedisServerProcess.Start();
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen(1);
        int statsPort = ((IPEndPoint)taken.LocalEndPoint!).Port;
        string path = WriteConfig($"alpha:\n  listen: 127.0.0.1:{FreePort.Next()}\n  redis: true\n  servers:\n    - 127.0.0.1:{redis.Port}:1\n");
        var (code, output) = RampartProcess.Run("-c", path, "-s", statsPort.ToString(), "-a", "127.0.0.1");
        Assert.Equal(1, code);
        Assert.Contains($"stats port 127.0.0.1:{statsPort}", output);
    }


    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
