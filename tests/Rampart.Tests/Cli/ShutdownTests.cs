using System.Text.RegularExpressions;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Tests.Cli;

/// <summary>A normal stop (SIGTERM) is not an incident: nothing it logs is a warning or worse.</summary>
public sealed class ShutdownTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-stop-").FullName;

    [Fact]
    public void Sigterm_WithServerConnectionsSubscribersAndBlockedClients_LogsNoWarning()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next(), admin = FreePort.Next();
        string path = Path.Combine(_dir, "rampart.yml");
        File.WriteAllText(path, $"alpha:\n  listen: 127.0.0.1:{port}\n  redis: true\n  preconnect: true\n  server_connections: 2\n"
            + $"  servers:\n    - 127.0.0.1:{redis.Port}:1 r1\n");
        using var rampart = RampartProcess.Start("serve", "--config", path, "--admin-listen", $"127.0.0.1:{admin}");
        Assert.True(rampart.WaitForOutput("running with", TimeSpan.FromSeconds(20)), rampart.Output);
        Assert.True(Poll.WaitUntil(() => Regex.Count(rampart.Output, "Connected to server") >= 2, TimeSpan.FromSeconds(10)), rampart.Output);

        using var plain = new RawClient(port);
        using var subscriber = new RawClient(port);
        using var blocked = new RawClient(port);
        plain.Send(RespText.Command("SET", "stop", "quietly"));
        Assert.Equal("+OK", plain.ReadLine());
        subscriber.Send(RespText.Command("SUBSCRIBE", "news"));
        Assert.Equal("*3", subscriber.ReadLine());
        blocked.Send(RespText.Command("BLPOP", "nothing-here", "0"));
        Assert.True(Poll.WaitUntil(() => redis.Send(RespText.Command("INFO", "clients")).Contains("blocked_clients:1"), TimeSpan.FromSeconds(5)));

        rampart.Signal("TERM");
        Assert.True(rampart.WaitForExit(TimeSpan.FromSeconds(20)), rampart.Output);
        Assert.Equal(0, rampart.ExitCode);
        Assert.Contains("Stopped", rampart.Output);
        var loud = rampart.Output.Split('\n').Where(line => Regex.IsMatch(line, @" (warn|fail|crit): ")).ToList();
        Assert.True(loud.Count == 0, "a normal stop logged:\n" + string.Join("\n", loud) + "\n--- whole log:\n" + rampart.Output);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
