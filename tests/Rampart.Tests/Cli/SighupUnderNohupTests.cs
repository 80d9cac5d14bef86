using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Tests.Cli;

/// <summary>
/// SIGHUP for a process whose parent left it ignored (<c>nohup</c>, some supervisors): it still reloads the
/// configuration and reopens the <c>-o</c> log file, as nutcracker does, so logrotate works.
/// </summary>
public sealed class SighupUnderNohupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-nohup-").FullName;

    private static string Pool(string name, int port, RedisServerProcess redis) =>
        $"{name}:\n  listen: 127.0.0.1:{port}\n  redis: true\n  servers:\n    - 127.0.0.1:{redis.Port}:1\n";

    [Fact]
    public void Sighup_WhenStartedWithSighupIgnored_ReloadsTheConfiguration()
    {
        using var redis = RedisServerProcess.Start();
        int main = FreePort.Next(), added = FreePort.Next();
        string path = Path.Combine(_dir, "rampart.yml");
        File.WriteAllText(path, Pool("main", main, redis));
        using var rampart = RampartProcess.StartWithSighupIgnored("serve", "--config", path);
        Assert.True(rampart.WaitForOutput("running with", TimeSpan.FromSeconds(20)), rampart.Output);
        Assert.Contains("SIGHUP was ignored by the parent process", rampart.Output); // the wrapper did ignore it
        Assert.False(rampart.IgnoresSighup());

        File.WriteAllText(path, Pool("main", main, redis) + Pool("added", added, redis));
        rampart.Signal("HUP");
        Assert.True(rampart.WaitForOutput($"Configuration reload applied (SIGHUP, {path}): pool 'added' added", TimeSpan.FromSeconds(10)),
            rampart.Output);
        using (var client = new RawClient(added))
        {
            client.Send(RespText.Command("PING"));
            Assert.Equal("+PONG", client.ReadLine());
        }

        rampart.Signal("TERM");
        Assert.True(rampart.WaitForExit(TimeSpan.FromSeconds(15)), rampart.Output);
        Assert.Equal(0, rampart.ExitCode);
    }

    [Fact]
    public void Sighup_AfterTheLogFileWasRenamed_NewLinesGoToANewFileAtThePath()
    {
        using var redis = RedisServerProcess.Start();
        string path = Path.Combine(_dir, "nut.yml");
        string log = Path.Combine(_dir, "rampart.log"), rotated = log + ".1";
        File.WriteAllText(path, Pool("alpha", FreePort.Next(), redis));
        using var rampart = RampartProcess.StartWithSighupIgnored("-c", path, "-o", log);
        Assert.True(Poll.WaitUntil(() => File.Exists(log) && File.ReadAllText(log).Contains("running with"), TimeSpan.FromSeconds(20)),
            rampart.Output);

        File.Move(log, rotated); // as logrotate does, before it signals the process
        rampart.Signal("HUP");
        Assert.True(Poll.WaitUntil(() => File.Exists(log) && File.ReadAllText(log).Contains("Configuration reload unchanged (SIGHUP"),
            TimeSpan.FromSeconds(10)), rampart.Output);
        rampart.Signal("TERM");
        Assert.True(rampart.WaitForExit(TimeSpan.FromSeconds(15)), rampart.Output);

        string before = File.ReadAllText(rotated), after = File.ReadAllText(log);
        Assert.Contains("running with", before);
        Assert.DoesNotContain("SIGHUP received", before);
        Assert.DoesNotContain("Configuration reload", before);
        Assert.Contains($"SIGHUP received: reopened the log file {log}", after);
        Assert.Contains("Stopped", after);
        Assert.DoesNotContain("running with", after);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
