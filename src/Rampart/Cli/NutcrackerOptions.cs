using System.CommandLine;
using System.CommandLine.Help;
using Microsoft.Extensions.Logging;
using Rampart.Proxy.Observability;

namespace Rampart.Cli;

/// <summary>
/// nutcracker's (twemproxy 0.5.0) command line on the root command, so a systemd unit or script only changes the
/// binary name: <c>rampart -c FILE -s PORT -a ADDR -o LOG -p PIDFILE -v N</c> runs the proxy like <c>rampart serve</c>,
/// <c>rampart -t -c FILE</c> checks like <c>rampart check</c>. See docs/migrating-from-twemproxy.md.
/// </summary>
internal sealed class NutcrackerOptions
{
    /// <summary>nutcracker's defaults (nc.c): stats on 0.0.0.0:22222, log level 5 (notice), config conf/nutcracker.yml.</summary>
    public const int DefaultStatsPort = 22222;
    public const string DefaultStatsAddress = "0.0.0.0";
    public const string DefaultConfig = "conf/nutcracker.yml";
    public const int DefaultVerbosity = 5;
    public const string DaemonizeRefusal = "rampart does not daemonize; run it under systemd (Type=simple) or your supervisor";

    private readonly Option<string> _conf = new("--conf-file", "-c") { Description = "nutcracker form: run with this configuration file (as 'serve --config')", HelpName = "file" };
    private readonly Option<bool> _test = new("--test-conf", "-t") { Description = "nutcracker form: check the configuration file and exit (as 'check')" };
    private readonly Option<int> _statsPort = new("--stats-port", "-s")
    {
        Description = "nutcracker form: stats port",
        DefaultValueFactory = _ => DefaultStatsPort,
        Validators = { RampartCommandLine.PortValidator },
    };
    private readonly Option<string> _statsAddr = new("--stats-addr", "-a") { Description = "nutcracker form: stats address", DefaultValueFactory = _ => DefaultStatsAddress };
    private readonly Option<int> _statsInterval = new("--stats-interval", "-i") { Description = "nutcracker form: accepted; Rampart's stats are live, so there is no aggregation interval", HelpName = "msec" };
    private readonly Option<string> _output = new("--output", "-o") { Description = "nutcracker form: append the log to this file (reopened on SIGHUP)", HelpName = "file" };
    private readonly Option<int> _verbose = new("--verbose", "-v") { Description = "nutcracker form: log level 0..11 (nutcracker's: 0 emerg .. 5 notice .. 11)", DefaultValueFactory = _ => DefaultVerbosity, HelpName = "N" };
    private readonly Option<string> _pidFile = new("--pid-file", "-p") { Description = "nutcracker form: write the process id to this file, removed on exit", HelpName = "file" };
    private readonly Option<bool> _daemonize = new("--daemonize", "-d") { Description = "nutcracker form: refused; run rampart under systemd (Type=simple) or a supervisor" };
    private readonly Option<int> _mbufSize = new("--mbuf-size", "-m") { Description = "nutcracker form: accepted and ignored (Rampart sizes its buffers itself)", HelpName = "N" };
    private readonly Option<bool> _describeStats = new("--describe-stats", "-D") { Description = "Print the stats fields and their descriptions, as nutcracker does, and exit" };

    private IEnumerable<Option> All => [_conf, _test, _statsPort, _statsAddr, _statsInterval, _output, _verbose, _pidFile, _daemonize, _mbufSize, _describeStats];

    public void AddTo(RootCommand root)
    {
        foreach (var option in All) root.Options.Add(option);
        root.SetAction((result, cancel) => RunAsync(result));
    }

    private async Task<int> RunAsync(ParseResult result)
    {
        // Without any of nutcracker's flags, the root command keeps its old behaviour: it needs a command.
        if (!All.Any(o => result.GetResult(o) is { Implicit: false }))
        {
            Console.Error.WriteLine("Required command was not provided.");
            new HelpAction().Invoke(result);
            return 1;
        }
        if (result.GetValue(_daemonize))
        {
            Console.Error.WriteLine(DaemonizeRefusal);
            return 1;
        }
        if (result.GetValue(_describeStats))
        {
            foreach (var line in TwemproxyStats.Describe()) Console.Out.WriteLine(line);
            return 0;
        }
        if (result.GetResult(_mbufSize) is { Implicit: false })
            Console.Error.WriteLine($"rampart: -m/--mbuf-size {result.GetValue(_mbufSize)} has no effect: Rampart sizes its buffers itself; ignored");

        string config = result.GetValue(_conf) ?? DefaultConfig;
        if (result.GetValue(_test)) return CheckCommand.Run(config);

        return await ServeCommand.RunAsync(new ServeSettings
        {
            ConfigPath = config,
            Level = LogLevelFor(result.GetValue(_verbose)),
            StatsPort = result.GetValue(_statsPort),
            StatsAddress = result.GetValue(_statsAddr)!,
            LogFile = result.GetValue(_output),
            PidFile = result.GetValue(_pidFile),
        });
    }

    /// <summary>
    /// nutcracker's levels (nc_log.h): 0 emerg, 1 alert, 2 crit, 3 error, 4 warn, 5 notice (default), 6 info, 7 debug,
    /// 8..11 ever more verbose. Out-of-range values are clamped, as nutcracker does.
    /// </summary>
    public static LogLevel LogLevelFor(int verbosity) => Math.Clamp(verbosity, 0, 11) switch
    {
        <= 2 => LogLevel.Critical,
        3 => LogLevel.Error,
        4 => LogLevel.Warning,
        5 or 6 => LogLevel.Information,
        7 => LogLevel.Debug,
        _ => LogLevel.Trace,
    };
}
