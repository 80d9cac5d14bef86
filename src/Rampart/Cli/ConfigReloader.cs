using Microsoft.Extensions.Logging;
using Rampart.Proxy;

namespace Rampart.Cli;

/// <summary>
/// Runs reloads of the configuration file for <c>rampart serve</c>: on SIGHUP, and on changes to the file when
/// <c>--watch-config</c> or <c>rampart: {watch_config: true}</c> asks for it. Reloads run one at a time off the
/// signal thread; a burst of requests while one runs collapses into one more. File events are debounced, because
/// editors write a file in several steps (truncate, write, rename) and a half-written file must not be loaded.
/// </summary>
internal sealed partial class ConfigReloader : IDisposable
{
    private const int DebounceMs = 500;

    private readonly ProxyServer _server;
    private readonly string _path;
    private readonly bool _watchFromCommandLine;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly Timer _debounce;
    private FileSystemWatcher? _watcher;
    private int _queued;
    private bool _disposed;

    public ConfigReloader(ProxyServer server, string path, bool watchFromCommandLine, ILogger logger)
    {
        _server = server;
        _path = Path.GetFullPath(path);
        _watchFromCommandLine = watchFromCommandLine;
        _logger = logger;
        _debounce = new Timer(_ => Request("the file changed"));
        UpdateWatcher();
    }

    /// <summary>Asks for a reload; returns at once. At most one waits behind the one running.</summary>
    public void Request(string trigger)
    {
        if (Interlocked.CompareExchange(ref _queued, 1, 0) != 0) return;
        _ = Task.Run(async () =>
        {
            await _oneAtATime.WaitAsync();
            try
            {
                Volatile.Write(ref _queued, 0);
                _server.ReloadFromFile(_path, trigger);
                UpdateWatcher();
            }
            catch (Exception e)
            {
                // A reload must never take the proxy down; the running configuration stays.
                LogReloadFault(e);
            }
            finally
            {
                _oneAtATime.Release();
            }
        });
    }

    /// <summary>Starts or stops watching the file as the running configuration (or the command line) asks.</summary>
    private void UpdateWatcher()
    {
        lock (_debounce)
        {
            if (_disposed) return;
            bool want = _watchFromCommandLine || _server.Config.Settings.WatchConfig;
            if (want == _watcher is not null) return;
            if (!want)
            {
                _watcher!.Dispose();
                _watcher = null;
                LogWatching(false, _path);
                return;
            }
            var watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!, Path.GetFileName(_path))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Changed += OnFileEvent;
            watcher.Created += OnFileEvent;
            watcher.Renamed += OnFileEvent;
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
            LogWatching(true, _path);
        }
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e) => _debounce.Change(DebounceMs, Timeout.Infinite);

    public void Dispose()
    {
        lock (_debounce)
        {
            _disposed = true;
            _watcher?.Dispose();
            _watcher = null;
        }
        _debounce.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Watching {Config} for changes: {Watching}")]
    private partial void LogWatchingCore(string config, bool watching);

    private void LogWatching(bool watching, string config) => LogWatchingCore(config, watching);

    [LoggerMessage(Level = LogLevel.Error, Message = "Configuration reload failed unexpectedly; still running on the previous configuration")]
    private partial void LogReloadFault(Exception exception);
}
