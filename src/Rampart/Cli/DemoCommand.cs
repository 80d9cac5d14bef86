using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Rampart.Proxy;
using Rampart.Proxy.Configuration;

namespace Rampart.Cli;

/// <summary>
/// <c>rampart demo</c>: a local redis-server on a free loopback port with Rampart in front; prints how to connect
/// and stops everything it started on Ctrl-C.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Start a local redis-server on loopback with Rampart in front (Ctrl-C stops both)");
        command.SetAction((_, _) => RunAsync());
        return command;
    }

    private static async Task<int> RunAsync()
    {
        using var loggers = ConsoleLogging.Create(json: false, LogLevel.Information);
        using var redis = DemoRedis.TryStart(out string? problem);
        if (redis is null)
        {
            Console.Error.WriteLine($"rampart demo: {problem}");
            return 1;
        }
        var pool = new PoolConfig
        {
            Name = "demo",
            Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
            TimeoutMs = 2000,
            Servers = [new ServerConfig { Host = "127.0.0.1", Port = redis.Port, Weight = 1, Name = "redis-1" }],
        };
        await using var server = new ProxyServer(new ProxyConfig { Source = "(demo)", Pools = [pool] }, loggers);
        await server.StartAsync();
        int port = ((IPEndPoint)server.GetListenEndPoint("demo")).Port;

        Console.WriteLine();
        Console.WriteLine($"  redis-server (pid {redis.Pid}) on 127.0.0.1:{redis.Port}");
        Console.WriteLine($"  rampart      on 127.0.0.1:{port}, forwarding to it");
        Console.WriteLine();
        Console.WriteLine($"  Try it:   redis-cli -p {port} set hello world");
        Console.WriteLine($"            redis-cli -p {port} get hello");
        Console.WriteLine($"            redis-benchmark -p {port} -t get,set -q");
        Console.WriteLine();
        Console.WriteLine("  Ctrl-C stops Rampart and the redis-server it started.");
        Console.WriteLine();

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        await stop.Task;
        await server.StopAsync(TimeSpan.FromSeconds(1));
        return 0;
    }
}
