using System.CommandLine;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Rampart.Admin;
using Rampart.Proxy;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Observability;

namespace Rampart.Cli;

/// <summary>How to run the proxy: from <c>rampart serve</c> or from nutcracker's flags (<c>rampart -c FILE</c>).</summary>
internal sealed record ServeSettings
{
    public required string ConfigPath { get; init; }
    public bool JsonLogs { get; init; }
    public LogLevel Level { get; init; } = LogLevel.Information;
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>twemproxy's stats port; null: no stats server.</summary>
    public int? StatsPort { get; init; }
    public string StatsAddress { get; init; } = "0.0.0.0";
    /// <summary>Append the log here instead of the console (nutcracker's <c>-o</c>).</summary>
    public string? LogFile { get; init; }
    /// <summary>Write the process id here while running (nutcracker's <c>-p</c>).</summary>
    public string? PidFile { get; init; }
    /// <summary>Admin HTTP listen address overriding the config's <c>rampart: admin: listen</c>; null: as the config says.</summary>
    public string? AdminListen { get; init; }
    /// <summary>Take over from the rampart whose pid file this is (zero-downtime upgrade); this process then owns the pid file.</summary>
    public string? Takeover { get; init; }
    /// <summary>Reload when the file changes (as well as on SIGHUP), whatever <c>rampart: {watch_config}</c> says.</summary>
    public bool WatchConfig { get; init; }
}

/// <summary><c>rampart serve</c>: run the proxy until SIGINT or SIGTERM, then stop gracefully; SIGHUP reloads the configuration.</summary>
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
        var statsPort = new Option<int?>("--stats-port")
        {
            Description = "Serve twemproxy's stats JSON on this TCP port (off unless given)",
            Validators = { RampartCommandLine.PortValidator },
        };
        var statsAddr = new Option<string>("--stats-addr")
        {
            Description = "Address of the stats port",
            DefaultValueFactory = _ => "0.0.0.0",
        };
        var adminListen = new Option<string?>("--admin-listen")
        {
            Description = "Serve the admin HTTP API and dashboard on host:port (overrides rampart: admin: listen in the config)",
        };
        var watch = new Option<bool>("--watch-config")
        {
            Description = "Reload the configuration when its file changes (SIGHUP always reloads)",
        };
        var pidFile = new Option<string?>("--pid-file", "-p")
        {
            Description = "Write the process id to this file (removed on exit) and accept takeovers on FILE.takeover",
            HelpName = "file",
        };
        var takeover = new Option<string?>("--takeover")
        {
            Description = "Zero-downtime upgrade: take the listening sockets of the rampart whose pid file this is, then it drains and exits; this process writes the pid file",
            HelpName = "pidfile",
        };
        var command = new Command("serve", "Run the proxy");
        command.Options.Add(watch);
        command.Options.Add(pidFile);
        command.Options.Add(takeover);
        command.Options.Add(config);
        command.Options.Add(jsonLogs);
        command.Options.Add(level);
        command.Options.Add(drain);
        command.Options.Add(statsPort);
        command.Options.Add(statsAddr);
        command.Options.Add(adminListen);
        command.SetAction((result, cancel) => RunAsync(new ServeSettings
        {
            ConfigPath = result.GetValue(config)!,
            JsonLogs = result.GetValue(jsonLogs),
            Level = result.GetValue(level),
            Drain = TimeSpan.FromMilliseconds(result.GetValue(drain)),
            StatsPort = result.GetValue(statsPort),
            StatsAddress = result.GetValue(statsAddr)!,
            AdminListen = result.GetValue(adminListen),
            WatchConfig = result.GetValue(watch),
            PidFile = result.GetValue(takeover) ?? result.GetValue(pidFile),
            Takeover = result.GetValue(takeover),
        }));
        return command;
    }

    public static async Task<int> RunAsync(ServeSettings settings)
    {
        string path = settings.ConfigPath;
        var loaded = ConfigLoader.LoadFile(path);
        if (!loaded.IsValid)
        {
            CheckCommand.PrintErrors(loaded);
            return 1;
        }

        LogFileWriter? logFile = null;
        if (settings.LogFile is not null)
        {
            try
            {
                logFile = new LogFileWriter(settings.LogFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"rampart: cannot open log file '{settings.LogFile}': {e.Message}");
                return 1;
            }
        }
        var (adminOptions, adminError) = AdminStartup.Resolve(loaded.Config!, settings.AdminListen);
        if (adminError is not null)
        {
            Console.Error.WriteLine($"rampart: {adminError}");
            return 1;
        }
        var levels = new RuntimeLogLevels(settings.Level);
        using var loggers = ConsoleLogging.Create(settings.JsonLogs, levels, logFile);
        var logger = loggers.CreateLogger("Rampart");
        var pid = new PidFileState();
        TakeoverClaim? claim = null;
        try
        {
            if (settings.Takeover is not null)
            {
                // The pid file is written once this process accepts (RunProxyAsync); until then it names the old one.
                claim = TakeoverClaim.Open(settings.Takeover, out string error);
                if (claim is null)
                {
                    logger.LogCritical("Cannot take over: {Reason}", error);
                    Console.Error.WriteLine($"rampart: cannot take over: {error}");
                    return 1;
                }
                logger.LogInformation("Takeover: received {Count} listening socket(s) from pid {Pid}", claim.Listeners.Count, claim.OldPid);
            }
            else if (settings.PidFile is not null)
            {
                try
                {
                    File.WriteAllText(settings.PidFile, $"{Environment.ProcessId}\n");
                    pid.Written = true;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    logger.LogCritical("Cannot start: cannot write pid file '{PidFile}': {Reason}", settings.PidFile, e.Message);
                    Console.Error.WriteLine($"rampart: cannot write pid file '{settings.PidFile}': {e.Message}");
                    return 1;
                }
            }
            return await RunProxyAsync(settings, loaded.Config!, loggers, logger, logFile, levels, adminOptions, claim, pid);
        }
        finally
        {
            claim?.Dispose();
            if (pid.Written && !pid.HandedOver)
            {
                try { File.Delete(settings.PidFile!); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
            loggers.Dispose(); // flushes the log queue before the file closes
            logFile?.Dispose();
        }
    }

    /// <summary>Whether this process wrote the pid file, and whether a new process took it over (then it is not removed).</summary>
    private sealed class PidFileState
    {
        public bool Written;
        public volatile bool HandedOver;
    }

    private static async Task<int> RunProxyAsync(ServeSettings settings, ProxyConfig config, ILoggerFactory loggers, ILogger logger,
        LogFileWriter? logFile, RuntimeLogLevels levels, AdminOptions? adminOptions, TakeoverClaim? claim, PidFileState pid)
    {
        string path = settings.ConfigPath;
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        // SIGHUP reloads the configuration (a bad file changes nothing) and, as nutcracker, reopens the log file, so
        // logrotate works. Its default action would end the process, so it is handled from the start, before the
        // reloader exists (a SIGHUP during start-up only reopens the log).
        // A parent that ignores SIGHUP (nohup) passes that on, and .NET would keep it ignored: undo it first.
        ConfigReloader? reloadTarget = null;
        bool sighupWasIgnored = InheritedSignals.UnignoreSighup();
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            if (logFile is not null)
            {
                logFile.Reopen();
                logger.LogInformation("SIGHUP received: reopened the log file {LogFile}", settings.LogFile);
            }
            Volatile.Read(ref reloadTarget)?.Request("SIGHUP");
        });
        if (sighupWasIgnored) logger.LogInformation("SIGHUP was ignored by the parent process (nohup?); it is handled anyway: it reloads the configuration and reopens the log file");

        // Per-command metrics are recorded only when the admin server, which exports them, runs.
        var server = new ProxyServer(config, loggers, recordMetrics: adminOptions is not null, time: TimeProvider.System);
        server.RequestSampler.Follow(levels);
        if (claim is not null) server.Inherit(claim.Listeners);
        StatsServer? stats = null;
        AdminServer? admin = null;
        try
        {
            await server.StartAsync();
            if (claim is not null) CompleteTakeover(settings, server, claim, pid, logger);
            if (adminOptions is not null) admin = await AdminStartup.StartAsync(server, adminOptions, levels, loggers);
            if (settings.StatsPort is int statsPort)
            {
                try
                {
                    stats = new StatsServer(server, settings.StatsAddress, statsPort, loggers.CreateLogger("Rampart.Stats"));
                }
                catch (SocketException e)
                {
                    throw new IOException($"stats port {settings.StatsAddress}:{statsPort}: {e.Message}", e);
                }
                stats.Start();
                logger.LogInformation("Stats on {StatsAddress}:{StatsPort} (twemproxy's JSON)", settings.StatsAddress, stats.LocalEndPoint.Port);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            // A takeover not committed yet leaves the old process serving; the received sockets are released without
            // a shutdown (the pools' listeners: ListenerHandover.CloseShared; the rest: CloseUnusedInherited).
            if (claim is not null && !pid.Written) CloseUnused(server, logger);
            logger.LogCritical("Cannot start: {Reason}", e.Message);
            if (logFile is not null) Console.Error.WriteLine($"rampart: cannot start: {e.Message}");
            stats?.Dispose();
            if (admin is not null) await admin.DisposeAsync();
            await server.DisposeAsync();
            return 1;
        }
        logger.LogInformation("Rampart {Version} running with {Config}", typeof(ServeCommand).Assembly.GetName().Version, path);
        foreach (var warning in SecretFileWarnings.For(config)) logger.LogWarning("{Warning}", warning);
        using var reloader = new ConfigReloader(server, path, settings.WatchConfig, loggers.CreateLogger("Rampart.Reload"));
        Volatile.Write(ref reloadTarget, reloader);
        using var offer = settings.PidFile is null ? null : OfferTakeover(settings.PidFile, server, logger, CloseAdminPorts, stop);
        await stop.Task;
        Volatile.Write(ref reloadTarget, null);
        await CloseAdminPorts();
        if (offer?.HandedOver == true)
        {
            pid.HandedOver = true;
            logger.LogInformation("Takeover: draining clients at request boundaries for up to {Drain} ms (connections with state once it ends)", settings.Drain.TotalMilliseconds);
            await server.DrainClientsAsync(settings.Drain);
            await server.StopAsync(TimeSpan.Zero);
            logger.LogInformation("Stopped after takeover");
            return 0;
        }
        logger.LogInformation("Stopping: no new connections; waiting up to {Drain} ms for in-flight requests", settings.Drain.TotalMilliseconds);
        await server.StopAsync(settings.Drain);
        logger.LogInformation("Stopped");
        return 0;

        // The admin and stats ports close before a new process that took over binds them (and at any stop).
        async Task CloseAdminPorts()
        {
            Interlocked.Exchange(ref stats, null)?.Dispose();
            if (Interlocked.Exchange(ref admin, null) is { } closing) await closing.DisposeAsync();
        }

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
    }

    /// <summary>This process accepts on the received sockets: tell the old one to drain, then own the pid file.</summary>
    private static void CompleteTakeover(ServeSettings settings, ProxyServer server, TakeoverClaim claim, PidFileState pid, ILogger logger)
    {
        CloseUnused(server, logger);
        bool confirmed = claim.Commit();
        if (confirmed) logger.LogInformation("Takeover: accepting; pid {Pid} stopped accepting and drains", claim.OldPid);
        else logger.LogWarning("Takeover: accepting; pid {Pid} did not confirm it stopped accepting (it drains on its own once it reads DRAIN)", claim.OldPid);
        try
        {
            File.WriteAllText(settings.PidFile!, $"{Environment.ProcessId}\n");
            pid.Written = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Too late to give up (the old process is draining): serve, and say why the next takeover will not work.
            logger.LogError("Takeover: cannot write pid file '{PidFile}': {Reason}; serving anyway", settings.PidFile, e.Message);
        }
    }

    /// <summary>Listening sockets the old process had but this configuration does not.</summary>
    private static void CloseUnused(ProxyServer server, ILogger logger)
    {
        foreach (string listen in server.CloseUnusedInherited())
            logger.LogInformation("Takeover: {Listen} is not in this configuration; its listening socket closes with the old process", listen);
    }

    /// <summary>With a pid file, accept takeovers; a failure to offer one is logged, never fatal.</summary>
    private static TakeoverOffer? OfferTakeover(string pidFile, ProxyServer server, ILogger logger, Func<Task> closeAdminPorts, TaskCompletionSource stop)
    {
        try
        {
            return new TakeoverOffer(pidFile, server, logger, async _ =>
            {
                await closeAdminPorts();
                stop.TrySetResult();
            });
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Takeover not offered: cannot listen on {Path}: {Reason}", TakeoverOffer.ControlPath(pidFile), e.Message);
            return null;
        }
    }
}
