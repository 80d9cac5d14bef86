using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Rampart.Proxy.Observability;

namespace Rampart.Cli;

/// <summary>
/// Logging to the console: one plain line per event by default, or JSON lines for log shippers. With a log file
/// (nutcracker's <c>-o</c>) the same lines go to the file instead, without colours.
/// </summary>
internal static class ConsoleLogging
{
    public static ILoggerFactory Create(bool json, LogLevel level, LogFileWriter? file = null) =>
        Create(json, new RuntimeLogLevels(level), file);

    /// <summary>Levels follow <paramref name="levels"/>, which the admin API can change while running.</summary>
    public static ILoggerFactory Create(bool json, RuntimeLogLevels levels, LogFileWriter? file = null)
    {
        // The console logger captures Console.Out when it is created.
        if (file is not null) Console.SetOut(file);
        return LoggerFactory.Create(builder =>
        {
            // Every level passes the factory's own minimum; the filter, asked at each IsEnabled, decides.
            builder.SetMinimumLevel(LogLevel.Trace);
            builder.AddFilter((_, category, level) => levels.IsEnabled(category ?? "", level));
            if (json)
            {
                builder.AddJsonConsole(o =>
                {
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    o.UseUtcTimestamp = true;
                });
            }
            else
            {
                builder.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
                    o.UseUtcTimestamp = true;
                    if (file is not null) o.ColorBehavior = LoggerColorBehavior.Disabled;
                });
            }
        });
    }
}
