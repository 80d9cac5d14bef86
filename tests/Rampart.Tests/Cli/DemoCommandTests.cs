using System.Diagnostics;
using System.Text.RegularExpressions;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Tests.Cli;

/// <summary>
/// <c>rampart demo</c> run as users run it: a Sentinel topology with Rampart in front, reachable on the printed port,
/// following a failover triggered on a printed sentinel port, and leaving no process and no temp dir after Ctrl-C.
/// </summary>
public sealed partial class DemoCommandTests
{
    [GeneratedRegex(@"pid (\d+)")]
    private static partial Regex AnyPid();

    [GeneratedRegex(@"rampart\s+\(this process\) pid \d+\s+on 127\.0\.0\.1:(\d+)")]
    private static partial Regex RampartPort();

    [GeneratedRegex(@"master\s+redis-server\s+pid \d+\s+on 127\.0\.0\.1:(\d+)")]
    private static partial Regex MasterPort();

    [GeneratedRegex(@"sentinel\s+redis-sentinel\s+pid \d+\s+on 127\.0\.0\.1:(\d+)")]
    private static partial Regex SentinelPort();

    [GeneratedRegex(@"files in (\S+)\):")]
    private static partial Regex TempDir();

    [GeneratedRegex(@"master 'mymaster' confirmed at 127\.0\.0\.1:(\d+)")]
    private static partial Regex Confirmed();

    [Fact]
    public async Task Demo_StartsASentinelTopology_FollowsAFailover_AndCtrlCLeavesNothingBehind()
    {
        using var demo = RampartProcess.Start("demo");
        Assert.True(demo.WaitForOutput("Ctrl-C stops Rampart", TimeSpan.FromSeconds(90)), $"demo did not start:\n{demo.Output}");
        string banner = demo.Output;
        int rampartPort = int.Parse(RampartPort().Match(banner).Groups[1].Value);
        int oldMaster = int.Parse(MasterPort().Match(banner).Groups[1].Value);
        int[] sentinelPorts = SentinelPort().Matches(banner).Select(m => int.Parse(m.Groups[1].Value)).ToArray();
        int[] pids = AnyPid().Matches(banner).Select(m => int.Parse(m.Groups[1].Value)).ToArray();
        string tempDir = TempDir().Match(banner).Groups[1].Value;
        Assert.Equal(3, sentinelPorts.Length);
        Assert.Equal(7, pids.Length); // 3 data nodes, 3 sentinels, rampart
        Assert.Contains($"redis-cli -p {rampartPort} set hello world", banner);
        Assert.Contains($"redis-cli -p {sentinelPorts[0]} SENTINEL FAILOVER mymaster", banner);
        Assert.Contains($"kill -9 {pids[0]}", banner);
        Assert.True(Directory.Exists(tempDir));

        using (var client = new RawClient(rampartPort))
        {
            Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "hello", "world"), "+OK", TimeSpan.FromSeconds(15)));
            client.Send(RespText.Command("GET", "hello"));
            Assert.Equal("$5", client.ReadLine());
            Assert.Equal("world", client.ReadLine());

            TriggerFailover(sentinelPorts[0]);

            // Keep writing through the same connection until a write succeeds after Rampart confirmed the new master.
            var clock = Stopwatch.StartNew();
            var replies = new List<string>();
            int? newMaster = null;
            string lastKey = "";
            while (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                bool confirmedBefore = NewMasterIn(demo.Output, oldMaster) is not null;
                lastKey = $"after-{replies.Count}";
                client.Send(RespText.Command("SET", lastKey, "v"));
                string reply = client.ReadLine();
                replies.Add(reply);
                if (confirmedBefore && reply == "+OK")
                {
                    newMaster = NewMasterIn(demo.Output, oldMaster);
                    break;
                }
                await Task.Delay(100);
            }
            Assert.True(newMaster is not null,
                $"no write succeeded after a new master was confirmed within 20 s; replies: {string.Join(" | ", replies.Distinct())}\n{demo.Output}");
            Assert.NotEqual(oldMaster, newMaster);
            Assert.Contains("failover of 'mymaster' under way", demo.Output);
            Assert.Equal("v", DirectGet(newMaster!.Value, lastKey));
        }

        demo.Signal("INT");
        Assert.True(demo.WaitForExit(TimeSpan.FromSeconds(15)), $"demo did not exit within 15 s of SIGINT:\n{demo.Output}");
        demo.WaitForExit(TimeSpan.FromSeconds(5)); // flush the output readers
        Assert.Equal(0, demo.ExitCode);
        foreach (int pid in pids)
            Assert.False(StillAlive(pid, TimeSpan.FromSeconds(5)), $"pid {pid} still alive after the demo exited:\n{demo.Output}");
        Assert.False(Directory.Exists(tempDir), $"{tempDir} still exists");
    }

    private static void TriggerFailover(int sentinelPort)
    {
        // A sentinel may answer -NOGOODSLAVE for a moment right after start; retry briefly.
        object? reply = null;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            using var sentinel = RespTestClient.ConnectTcp(sentinelPort);
            sentinel.ReadTimeoutMs = 5000;
            reply = sentinel.CallText("SENTINEL", "FAILOVER", "mymaster");
            if (reply is "OK") return;
            Thread.Sleep(250);
        }
        Assert.Fail($"SENTINEL FAILOVER never accepted: {reply}");
    }

    private static int? NewMasterIn(string output, int oldMaster) =>
        Confirmed().Matches(output).Select(m => int.Parse(m.Groups[1].Value)).Where(p => p != oldMaster).Cast<int?>().LastOrDefault();

    private static string? DirectGet(int port, string key)
    {
        using var node = RespTestClient.ConnectTcp(port);
        node.ReadTimeoutMs = 5000;
        return node.CallText("GET", key) as string;
    }

    /// <summary>True while /proc/PID exists and is not a zombie (an exited child not yet reaped by whoever inherited it).</summary>
    private static bool StillAlive(int pid, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string? stat = null;
            try { stat = File.ReadAllText($"/proc/{pid}/stat"); } catch (IOException) { }
            bool alive = stat is not null && stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault() is not 'Z';
            if (!alive || clock.Elapsed > timeout) return alive;
            Thread.Sleep(50);
        }
    }
}
