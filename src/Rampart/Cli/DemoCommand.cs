using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Rampart.Admin;
using Rampart.Cli.Demo;
using Rampart.Proxy;
using Rampart.Proxy.Configuration;

namespace Rampart.Cli;

/// <summary>
/// <c>rampart demo</c>: a Sentinel topology on free loopback ports (<see cref="DemoTopology"/>) with Rampart in front
/// following it; prints how to connect and how to cause a failover. Ctrl-C or SIGTERM, also during start-up, kills
/// every process it started and removes its temp dir.
/// </summary>
internal static class DemoCommand
{
    private const string PoolName = "demo";

    public static Command Create()
    {
        var command = new Command("demo",
            "Start 1 master, 2 replicas and 3 sentinels on loopback with Rampart in front following failovers (Ctrl-C stops all)");
        command.SetAction((_, _) => RunAsync());
        return command;
    }

    private static async Task<int> RunAsync()
    {
        using var loggers = ConsoleLogging.Create(json: false, LogLevel.Information);
        using var stop = new CancellationTokenSource();
        InheritedSignals.UnignoreSigint();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        DemoTopology? topology = null;
        try
        {
            Console.WriteLine("rampart demo: starting 1 master, 2 replicas and 3 sentinels on loopback...");
            topology = await DemoTopology.StartAsync(step => Console.WriteLine($"rampart demo: {step}"), stop.Token);
            await using var server = new ProxyServer(new ProxyConfig { Source = "(demo)", Pools = [Pool(topology)] }, loggers, time: TimeProvider.System);
            await server.StartAsync();
            // The admin dashboard on a free loopback port, to watch the failovers below.
            await using var admin = await AdminServer.StartAsync(server, new AdminOptions { Listen = "127.0.0.1:0" }, loggers: loggers);
            PrintUsage(topology, ((IPEndPoint)server.GetListenEndPoint(PoolName)).Port, admin.Url);
            try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
            Console.WriteLine("rampart demo: stopping Rampart and every process above");
            await admin.DisposeAsync();
            await server.StopAsync(TimeSpan.FromMilliseconds(500));
            return 0;
        }
        catch (DemoException e)
        {
            Console.Error.WriteLine($"rampart demo: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Error.WriteLine("rampart demo: stopped during start-up");
            return 130;
        }
        finally
        {
            if (topology is not null)
            {
                topology.Dispose();
                Console.WriteLine($"rampart demo: killed pids {string.Join(", ", topology.Processes.Select(p => p.Pid))}; removed {topology.Directory}");
            }
        }

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    /// <summary>A Sentinel pool for the one master name, as a user would write it in rampart.yml.</summary>
    private static PoolConfig Pool(DemoTopology topology) => new()
    {
        Name = PoolName,
        Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
        TimeoutMs = 2000,
        Sentinel = new SentinelConfig
        {
            Addresses = topology.Sentinels.Select(s => new SentinelAddress { Host = "127.0.0.1", Port = s.Port }).ToList(),
            Quorum = DemoTopology.Quorum,
            CheckIntervalMs = 500,
        },
        Servers = [new ServerConfig { Host = DemoTopology.MasterName, Name = DemoTopology.MasterName, Port = 0, Weight = 1 }],
    };

    private static void PrintUsage(DemoTopology topology, int rampartPort, string dashboard)
    {
        var sentinel = topology.Sentinels.First();
        Console.WriteLine();
        Console.WriteLine($"  Sentinel topology '{DemoTopology.MasterName}' (files in {topology.Directory}):");
        foreach (var p in topology.Processes)
        {
            string kind = p.Role == "sentinel" ? "redis-sentinel" : "redis-server";
            Console.WriteLine($"    {p.Role,-9} {kind,-14} pid {p.Pid,-7} on 127.0.0.1:{p.Port}");
        }
        Console.WriteLine($"  rampart   (this process) pid {Environment.ProcessId,-7} on 127.0.0.1:{rampartPort}, " +
                          $"routing to the master {DemoTopology.Quorum} of {topology.Sentinels.Count()} sentinels name");
        Console.WriteLine();
        Console.WriteLine($"  Try it:    redis-cli -p {rampartPort} set hello world");
        Console.WriteLine($"             redis-cli -p {rampartPort} get hello");
        Console.WriteLine($"             redis-cli -p {rampartPort} -r -1 -i 0.25 incr counter     (keep it running)");
        Console.WriteLine($"  Failover:  redis-cli -p {sentinel.Port} SENTINEL FAILOVER {DemoTopology.MasterName}");
        Console.WriteLine($"  Crash:     kill -9 {topology.Master.Pid}     (the master at start; later, the node Where: names; a replica is promoted in ~2 s)");
        Console.WriteLine($"  Where:     redis-cli -p {sentinel.Port} SENTINEL get-master-addr-by-name {DemoTopology.MasterName}");
        Console.WriteLine($"  Watch:     {dashboard}/     (dashboard: master, agreeing sentinels, replicas, events; /metrics, /readyz)");
        Console.WriteLine();
        Console.WriteLine($"  Rampart's log below shows it following: \"failover of '{DemoTopology.MasterName}' under way\" (traffic held),");
        Console.WriteLine($"  then \"master '{DemoTopology.MasterName}' confirmed at 127.0.0.1:<new port>\"; after a crash, \"no confirmed master\"");
        Console.WriteLine("  (commands fail with the reason) until the sentinels agree on a new one.");
        Console.WriteLine();
        Console.WriteLine("  Ctrl-C stops Rampart, kills every process above and removes the temp dir.");
        Console.WriteLine();
    }
}
