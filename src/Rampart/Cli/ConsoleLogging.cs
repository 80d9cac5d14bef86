using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Rampart.Cli;

/// <summary>Logging to the console: one plain line per event by default, or JSON lines for log shippers.</summary>
internal static class ConsoleLogging
{
    public static ILoggerFactory Create(bool json, LogLevel level) => LoggerFactory.Create(builder =>
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
            });
        }
    });
}
