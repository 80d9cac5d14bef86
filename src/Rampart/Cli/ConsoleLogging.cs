using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Rampart.Cli;

/// <summary>
/// Logging to the console: one plain line per event by default, or JSON lines for log shippers. With a log file
/// (nutcracker's <c>-o</c>) the same lines go to the file instead, without colours.
/// </summary>
internal static class ConsoleLogging
{
    public static ILoggerFactory Create(bool json, LogLevel level, LogFileWriter? file = null)
    {
        // The console logger captures Console.Out when it is created.
        if (file is not null) Console.SetOut(file);
        return LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(level);
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
