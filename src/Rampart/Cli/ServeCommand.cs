using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Rampart.Proxy;
using Rampart.Proxy.Configuration;

namespace Rampart.Cli;

/// <summary><c>rampart serve</c>: run the proxy until SIGINT or SIGTERM, then stop gracefully.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = RampartCommandLine.ConfigOption();
        var jsonLogs = new Option<bool>("--log-json") { Description = "Write logs as JSON lines" };
        var level = new Option<LogLevel>("--log-level") { Description = "Minimum log level", DefaultValueFactory = _ => LogLevel.Information };
        var drain = new Option<int>("--shutdown-timeout")
        {
            Description = "Milliseconds to let in-flight requests finish on SIGINT/SIGTERM before connections close",
            DefaultValueFactory = _ => 5000,
        };
        var command = new Command("serve", "Run the proxy");
        command.Options.Add(config);
        command.Options.Add(jsonLogs);
        command.Options.Add(level);
        command.Options.Add(drain);
        command.SetAction((result, cancel) => RunAsync(result.GetValue(config)!, result.GetValue(jsonLogs),
            result.GetValue(level), TimeSpan.FromMilliseconds(result.GetValue(drain))));
        return command;
    }

    private static async Task<int> RunAsync(string path, bool jsonLogs, LogLevel level, TimeSpan drain)
    {
        var loaded = ConfigLoader.LoadFile(path);
        if (!loaded.IsValid)
        {
            CheckCommand.PrintErrors(loaded);
            return 1;
        }
        using var loggers = ConsoleLogging.Create(jsonLogs, level);
        var logger = loggers.CreateLogger("Rampart");
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        // Reload arrives with the operations work; until then SIGHUP must not kill the process (its default action).
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            logger.LogWarning("SIGHUP received: configuration reload is not available in this version; still running on {Config}", path);
        });

        var server = new ProxyServer(loaded.Config!, loggers);
        try
        {
            await server.StartAsync();
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
        {
            logger.LogCritical("Cannot start: {Reason}", e.Message);
            await server.DisposeAsync();
            return 1;
        }
        logger.LogInformation("Rampart {Version} running with {Config}", typeof(ServeCommand).Assembly.GetName().Version, path);
        await stop.Task;
        logger.LogInformation("Stopping: no new connections; waiting up to {Drain} ms for in-flight requests", drain.TotalMilliseconds);
        await server.StopAsync(drain);
        logger.LogInformation("Stopped");
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
    }
}
