using Microsoft.Extensions.Logging;
using Rampart.Admin;
using Rampart.Proxy;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Observability;

namespace Rampart.Cli;

/// <summary>
/// Starts the admin HTTP server when the config has <c>rampart: admin: listen</c> or the command line has
/// <c>--admin-listen</c> (which wins over the file); off otherwise.
/// </summary>
internal static class AdminStartup
{
    public static (AdminOptions? Options, string? Error) Resolve(ProxyConfig config, string? listenOverride) =>
        AdminSettings.Resolve(config, listenOverride);

    public static Task<AdminServer> StartAsync(ProxyServer server, AdminOptions options, RuntimeLogLevels levels, ILoggerFactory loggers) =>
        AdminServer.StartAsync(server, options, levels, loggers);
}
