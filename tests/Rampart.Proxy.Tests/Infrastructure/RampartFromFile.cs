using System.Net;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// Rampart in the test process, started from a configuration file in a temp directory that the test rewrites and
/// reloads (as SIGHUP would, through <see cref="ProxyServer.ReloadFromFile"/>). Listen ports come from
/// <see cref="FreePort"/> (the config refuses port 0).
/// </summary>
public sealed class RampartFromFile : IAsyncDisposable
{
    private readonly string _dir;

    private RampartFromFile(string dir, string path, ProxyServer server)
    {
        _dir = dir;
        Path = path;
        Server = server;
    }

    public string Path { get; }
    public ProxyServer Server { get; }

    public static async Task<RampartFromFile> StartAsync(string yaml, Microsoft.Extensions.Logging.ILoggerFactory? loggers = null)
    {
        var dir = Directory.CreateTempSubdirectory("rampart-reload-").FullName;
        var path = System.IO.Path.Combine(dir, "rampart.yml");
        File.WriteAllText(path, yaml);
        var loaded = ConfigLoader.LoadFile(path);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        var server = new ProxyServer(loaded.Config!, loggers);
        await server.StartAsync();
        return new RampartFromFile(dir, path, server);
    }

    public int PortOf(string pool) => ((IPEndPoint)Server.GetListenEndPoint(pool)).Port;

    /// <summary>Rewrites the file and reloads it.</summary>
    public Rampart.Proxy.Reload.ReloadOutcome Reload(string yaml)
    {
        File.WriteAllText(Path, yaml);
        return Server.ReloadFromFile(Path);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync(TimeSpan.FromSeconds(1));
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
