using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Rampart.Tests.Cli;

/// <summary>
/// Zero-downtime upgrade: <c>rampart serve --takeover PIDFILE</c> replaces the running process three times while 50
/// clients run SET/GET rounds through it. No connect is refused, no reply is wrong or lost, each client sees at most
/// one closed connection per replacement, every acknowledged write is in Redis, and each old process exits by itself.
/// </summary>
public sealed class TakeoverTests(ITestOutputHelper output) : IDisposable
{
    private const int Clients = 50;
    private const int Replacements = 3;
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-takeover-").FullName;
    private readonly List<RampartProcess> _processes = [];

    [Fact]
    public void Takeover_ThreeTimesUnder50Clients_RefusesNothingLosesNothing()
    {
        using var redis = RedisServerProcess.Start();
        var (current, port, config, pidFile) = StartFirst(redis);

        var clients = Enumerable.Range(0, Clients).Select(i => new SetGetRounds(i, port, redis.Port)).ToArray();
        bool stop = false;
        var threads = clients.Select(c => new Thread(() => c.Run(() => Volatile.Read(ref stop))) { IsBackground = true }).ToArray();
        foreach (var thread in threads) thread.Start();
        try
        {
            Assert.True(Poll.WaitUntil(() => clients.All(c => c.Rounds > 10), TimeSpan.FromSeconds(20)), "clients did not get going");
            for (int i = 0; i < Replacements; i++)
            {
                int before = clients.Sum(c => c.Rounds);
                var next = Start("serve", "--config", config, "--takeover", pidFile, "--shutdown-timeout", "5000");
                Assert.True(next.WaitForOutput("Takeover: accepting", TimeSpan.FromSeconds(20)), next.Output + "\n--- old:\n" + current.Output);
                Assert.True(current.WaitForExit(TimeSpan.FromSeconds(20)), "the old process did not exit:\n" + current.Output);
                Assert.Equal(0, current.ExitCode);
                Assert.Contains("Stopped after takeover", current.Output);
                Assert.True(Poll.WaitUntil(() => File.ReadAllText(pidFile).Trim() == next.Pid.ToString(), TimeSpan.FromSeconds(5)));
                Assert.True(next.WaitForOutput("Takeover: listening", TimeSpan.FromSeconds(10)), next.Output);
                current = next;
                // Traffic through the new process before the next switch: every client makes progress on it.
                var progress = clients.Select(c => c.Rounds).ToArray();
                Assert.True(Poll.WaitUntil(() => clients.Select((c, k) => c.Rounds > progress[k] + 5).All(x => x), TimeSpan.FromSeconds(20)),
                    $"clients stalled after replacement {i + 1} ({clients.Sum(c => c.Rounds) - before} rounds since)");
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            foreach (var thread in threads) Assert.True(thread.Join(TimeSpan.FromSeconds(30)), "a client did not stop");
        }

        int rounds = clients.Sum(c => c.Rounds), boundary = clients.Sum(c => c.BoundaryCloses);
        int outstanding = clients.Sum(c => c.ClosedWithRequestOutstanding);
        output.WriteLine($"replacements {Replacements}, clients {Clients}, rounds {rounds}, reconnects {boundary + outstanding} " +
            $"(at a request boundary {boundary}, with a request the proxy never read {outstanding}), wrong {clients.Sum(c => c.Wrong)}, " +
            $"lost {clients.Sum(c => c.Lost)}, refused {clients.Sum(c => c.Refused)}");
        var problems = clients.SelectMany(c => c.Problems).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
        Assert.Equal(0, clients.Sum(c => c.Wrong));
        Assert.Equal(0, clients.Sum(c => c.Lost));
        Assert.Equal(0, clients.Sum(c => c.Refused));
        Assert.All(clients, c => Assert.True(c.Closes <= Replacements, $"{c.Key}: {c.Closes} closed connections over {Replacements} replacements"));
        // Every acknowledged write is in Redis, read directly.
        foreach (var client in clients)
            Assert.Contains(client.LastAcknowledged!, RedisProgram.ExchangeOnce(redis.Port, RespText.Command("GET", client.Key), readTimeoutMs: 5000));
        Assert.False(current.HasExited, current.Output);
    }

    [Fact]
    public void Takeover_WithNoRunningProcess_FailsClearlyAndBindsNothing()
    {
        string config = Path.Combine(_dir, "rampart.yml");
        int port = FreePort.Next();
        File.WriteAllText(config, $"alpha:\n  listen: 127.0.0.1:{port}\n  redis: true\n  servers:\n    - 127.0.0.1:{FreePort.Next()}:1 r1\n");
        string pidFile = Path.Combine(_dir, "missing.pid");
        var (code, text) = RampartProcess.Run("serve", "--config", config, "--takeover", pidFile);
        Assert.Equal(1, code);
        Assert.Contains("cannot take over", text);
        Assert.Contains(pidFile, text);

        File.WriteAllText(pidFile, "not-a-pid\n");
        (code, text) = RampartProcess.Run("serve", "--config", config, "--takeover", pidFile);
        Assert.Equal(1, code);
        Assert.Contains("does not hold a process id", text);
    }

    [Fact]
    public void Takeover_WhenTheNewConfigCannotStart_LeavesTheOldProcessServing()
    {
        using var redis = RedisServerProcess.Start();
        var (old, port, config, pidFile) = StartFirst(redis);

        // The new configuration adds a pool on a port someone else holds: the new process cannot start.
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        int taken = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
        string bad = Path.Combine(_dir, "bad.yml");
        File.WriteAllText(bad, File.ReadAllText(config) + $"beta:\n  listen: 127.0.0.1:{taken}\n  redis: true\n  servers:\n    - 127.0.0.1:{redis.Port}:1 r1\n");
        var (code, text) = RampartProcess.Run("serve", "--config", bad, "--takeover", pidFile);
        Assert.Equal(1, code);
        Assert.Contains("Cannot start", text);

        Assert.True(old.WaitForOutput("Takeover abandoned", TimeSpan.FromSeconds(10)), old.Output);
        Assert.False(old.HasExited);
        Assert.Equal(old.Pid.ToString(), File.ReadAllText(pidFile).Trim());
        using var client = new RawClient(port);
        client.Send(RespText.Command("SET", "still", "here"));
        Assert.Equal("+OK", client.ReadLine());
        // And it can still be taken over.
        var next = Start("serve", "--config", config, "--takeover", pidFile);
        Assert.True(next.WaitForOutput("Takeover: accepting", TimeSpan.FromSeconds(20)), next.Output);
        Assert.True(old.WaitForExit(TimeSpan.FromSeconds(20)), old.Output);
    }

    /// <summary>The first process: one pool on a free port in front of <paramref name="redis"/>, with a pid file (so it offers takeovers).</summary>
    private (RampartProcess Process, int Port, string Config, string PidFile) StartFirst(RedisServerProcess redis)
    {
        int port = FreePort.Next();
        string config = Path.Combine(_dir, "rampart.yml");
        string pidFile = Path.Combine(_dir, "rampart.pid");
        File.WriteAllText(config, $"alpha:\n  listen: 127.0.0.1:{port}\n  redis: true\n  servers:\n    - 127.0.0.1:{redis.Port}:1 r1\n");
        var process = Start("serve", "--config", config, "--pid-file", pidFile);
        Assert.True(process.WaitForOutput("Takeover: listening", TimeSpan.FromSeconds(20)), process.Output);
        return (process, port, config, pidFile);
    }

    private RampartProcess Start(params string[] args)
    {
        var process = RampartProcess.Start(args);
        _processes.Add(process);
        return process;
    }

    public void Dispose()
    {
        foreach (var process in _processes) process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
