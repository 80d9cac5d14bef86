using Microsoft.Extensions.Logging;

namespace Rampart.Admin;

/// <summary>Sends the admin web host's own log lines (Kestrel, ASP.NET) to Rampart's logger factory.</summary>
internal sealed class ForwardingLoggerProvider(ILoggerFactory loggers) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => loggers.CreateLogger(categoryName);

    public void Dispose()
    {
        // The factory belongs to Rampart, not to the web host.
    }
}
