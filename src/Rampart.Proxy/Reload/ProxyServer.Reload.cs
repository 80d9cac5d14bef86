using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Reload;
using Rampart.Proxy.Pools;

namespace Rampart.Proxy;

/// <summary>
/// Hot reload: a new configuration is compared with the running one and only the difference is applied, live.
/// New pools start listening; removed pools stop listening and their clients drain; a changed pool swaps its config
/// and routing snapshot in place (its clients keep their connections); a changed listen address gets a new listener
/// while the clients of the old one carry on. An invalid file changes nothing. See docs/operations.md for the
/// key-by-key list.
/// </summary>
public sealed partial class ProxyServer
{
    private readonly object _reloadGate = new();
    private long _reloadSuccesses;
    private long _reloadFailures;
    private volatile ReloadOutcome? _lastReload;

    /// <summary>Reloads that were applied (including those that found nothing to change).</summary>
    public long ReloadSuccesses => Interlocked.Read(ref _reloadSuccesses);
    /// <summary>Reloads refused (invalid file, or a new listener that could not bind).</summary>
    public long ReloadFailures => Interlocked.Read(ref _reloadFailures);
    /// <summary>The last reload's result and time, or null before the first one.</summary>
    public ReloadOutcome? LastReload => _lastReload;

    /// <summary>
    /// Loads <paramref name="path"/> with the same checks as start-up. Invalid: logs <c>file:line: reason</c> for each
    /// error and keeps running on the current configuration. Valid: applies the difference.
    /// </summary>
    /// <param name="trigger">What asked for it (SIGHUP, the file changed, ...), for the log line.</param>
    public ReloadOutcome ReloadFromFile(string path, string trigger = "reload")
    {
        var loaded = ConfigLoader.LoadFile(path);
        if (!loaded.IsValid)
        {
            lock (_reloadGate) return Failed(trigger, path, loaded.Errors.Select(e => e.ToString()).ToList(), "no changes");
        }
        return Reload(loaded.Config!, trigger);
    }

    /// <summary>Applies <paramref name="next"/> (already validated) in place of the running configuration.</summary>
    public ReloadOutcome Reload(ProxyConfig next, string trigger = "reload")
    {
        lock (_reloadGate)
        {
            if (_timeoutSweep is null) throw new InvalidOperationException("the proxy is not running");
            if (_stopping) return Failed(trigger, next.Source, ["the proxy is stopping"], "no changes");
            var diff = ConfigDiff.Compute(_config, next);
            // A pool left without a listener by an earlier reload (its address could not be bound) tries again.
            var orphans = _pools.Where(p => p.Listener is null && next.Pools.Any(n => n.Name == p.Config.Name)).ToList();
            if (diff.IsEmpty && orphans.Count == 0)
            {
                // Nothing in the file changed, but a SIGHUP still reads the certificates and keys again.
                var tlsErrors = new List<string>();
                ApplyTls(_pools.Select(p => (p, p.Config)), tlsErrors);
                return tlsErrors.Count == 0
                    ? Succeeded(trigger, next.Source, diff.Describe(), next, unchanged: true)
                    : Failed(trigger, next.Source, tlsErrors, "no changes");
            }
            var changes = string.Join("; ", (diff.IsEmpty ? [] : new[] { diff.Describe() })
                .Concat(orphans.Select(o => $"pool '{o.Config.Name}' binds its listen address again")));

            var current = _pools.ToDictionary(p => p.Config.Name, StringComparer.Ordinal);
            var held = current.Values.Where(p => p.Listener is not null)
                .Select(p => ListenKey(p.Listener!.Listen)).ToHashSet(StringComparer.OrdinalIgnoreCase);

            // 1. Everything that can fail comes first, so a failure leaves the running configuration untouched: new
            // pools and moved listeners bind now, except on an address one of our own listeners frees below.
            var added = new List<PoolRuntime>();
            var moved = new Dictionary<string, PoolListener>(StringComparer.Ordinal);
            var rebind = new List<(PoolRuntime Pool, PoolConfig Config)>();
            try
            {
                foreach (var config in diff.Added)
                {
                    var pool = NewPoolRuntime(config);
                    pool.UseAcl(next.Settings.Acl);
                    added.Add(pool);
                    if (held.Contains(ListenKey(config.Listen))) rebind.Add((pool, config));
                    else pool.Listener = Bind(pool, config);
                }
                var relisten = diff.Changed.Where(c => c.ListenChanged).Select(c => c.New)
                    .Concat(orphans.Select(o => next.Pools.First(n => n.Name == o.Config.Name)))
                    .DistinctBy(c => c.Name);
                foreach (var config in relisten)
                {
                    var pool = current[config.Name];
                    if (held.Contains(ListenKey(config.Listen))) rebind.Add((pool, config));
                    else moved[config.Name] = Bind(pool, config);
                }
            }
            catch (ListenException e)
            {
                foreach (var pool in added) DisposePool(pool);
                foreach (var listener in moved.Values) listener.Dispose();
                return Failed(trigger, next.Source, [e.Message], changes);
            }

            // 2. Commit: stop what goes away, then bind what reuses a freed address, then swap.
            var errors = new List<string>();
            foreach (var pool in diff.Removed.Select(p => current[p.Name]))
            {
                pool.Listener?.Dispose();
                pool.Listener = null;
                pool.BeginDrain();
                _draining.Add(pool);
            }
            foreach (var change in diff.Changed.Where(c => c.ListenChanged)) current[change.New.Name].Listener?.Dispose();
            foreach (var (pool, config) in rebind)
            {
                try
                {
                    var listener = Bind(pool, config);
                    if (added.Contains(pool)) pool.Listener = listener;
                    else moved[config.Name] = listener;
                }
                catch (ListenException e)
                {
                    errors.Add(e.Message + "; the pool has no listener until a reload fixes it");
                    if (!added.Contains(pool)) pool.Listener = null;
                }
            }
            foreach (var change in diff.Changed)
            {
                var pool = current[change.New.Name];
                pool.Apply(change.New);
                if (!change.ListenChanged && change.Old.Backlog != change.New.Backlog && !moved.ContainsKey(change.New.Name))
                {
                    try { pool.Listener?.SetBacklog(change.New.Backlog); }
                    catch (SocketException e) { errors.Add($"pool '{change.New.Name}': cannot change backlog: {e.Message}"); }
                }
            }
            foreach (var (name, listener) in moved)
            {
                var pool = current[name];
                pool.Listener = listener;
                listener.Start();
                LogListening(name, listener.LocalEndPoint.ToString() ?? "?", pool.Config.Servers.Count);
            }
            foreach (var pool in added)
            {
                if (pool.Listener is not null) StartPool(pool);
                else pool.StartTopology();
                current[pool.Config.Name] = pool;
            }

            ApplyTls(next.Pools.Select(p => (current[p.Name], p)), errors);

            // Every pool swaps to the new users whole; sessions look their user up again by name (Security/AclGate).
            foreach (var pool in current.Values) pool.UseAcl(next.Settings.Acl);
            _budget.Max = next.Settings.MaxConnections;
            _authThrottle.Config = next.Settings.AuthThrottle;
            _pools = next.Pools.Select(p => current[p.Name]).ToArray();
            int period = SweepPeriod(next);
            if (period != _sweepPeriodMs)
            {
                _sweepPeriodMs = period;
                _timeoutSweep.Change(TimeSpan.FromMilliseconds(period), TimeSpan.FromMilliseconds(period));
            }
            return errors.Count == 0
                ? Succeeded(trigger, next.Source, changes, next, unchanged: false)
                : Failed(trigger, next.Source, errors, changes, applied: next);
        }
    }

    private PoolListener Bind(PoolRuntime pool, PoolConfig config)
    {
        try
        {
            return new PoolListener(pool, config.Listen, config.Backlog, ClientLogger);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            throw new ListenException($"{_config.Source}:{config.Line}: pool '{config.Name}': cannot listen on {config.Listen}: {e.Message}");
        }
    }

    private sealed class ListenException(string message) : Exception(message);

    private static string ListenKey(ListenAddress listen) => listen.ToString();

    /// <summary>Closes the removed pools whose clients have all gone (or whose drain time ran out).</summary>
    private void SweepDraining(long now)
    {
        List<PoolRuntime>? finished = null;
        lock (_reloadGate)
        {
            for (int i = _draining.Count - 1; i >= 0; i--)
            {
                var pool = _draining[i];
                pool.CheckTimeouts(now);
                if (!pool.TryFinishDrain(now)) continue;
                _draining.RemoveAt(i);
                (finished ??= []).Add(pool);
            }
        }
        if (finished is null) return;
        foreach (var pool in finished) _ = CloseDrainedAsync(pool);
    }

    private async Task CloseDrainedAsync(PoolRuntime pool)
    {
        await pool.StopTopologyAsync();
        DisposePool(pool);
        LogPoolClosed(pool.Config.Name);
    }

    private ReloadOutcome Succeeded(string trigger, string source, string changes, ProxyConfig next, bool unchanged)
    {
        _config = next;
        Interlocked.Increment(ref _reloadSuccesses);
        var outcome = new ReloadOutcome { Success = true, Changes = changes };
        _lastReload = outcome;
        LogReload(LogLevel.Information, unchanged ? "unchanged" : "applied", trigger, source, changes);
        if (!unchanged) Events.Add("*", "reload", null, $"applied ({trigger}): {changes}");
        return outcome;
    }

    private ReloadOutcome Failed(string trigger, string source, IReadOnlyList<string> errors, string changes, ProxyConfig? applied = null)
    {
        if (applied is not null) _config = applied;
        Interlocked.Increment(ref _reloadFailures);
        foreach (var error in errors) LogReloadError(error);
        var outcome = new ReloadOutcome
        {
            Success = false,
            Changes = applied is null ? "no changes" : changes,
            Errors = errors,
        };
        _lastReload = outcome;
        Events.Add("*", "reload-failed", null, $"{trigger}: {string.Join("; ", errors.Take(3))}{(errors.Count > 3 ? $" (+{errors.Count - 3} more)" : "")}");
        LogReload(LogLevel.Error, "failed", trigger, source, applied is null
            ? $"{errors.Count} error(s); still running on the previous configuration"
            : $"{errors.Count} error(s) after applying: {changes}");
        return outcome;
    }

    /// <summary>The one line per reload: Result is applied, unchanged or failed; Changes lists what changed, key by key.</summary>
    [LoggerMessage(Message = "Configuration reload {Result} ({Trigger}, {Config}): {Changes}")]
    private partial void LogReload(LogLevel level, string result, string trigger, string config, string changes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Configuration reload error: {Error}")]
    private partial void LogReloadError(string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool} removed by a reload: every client has gone, its server connections are closed")]
    private partial void LogPoolClosed(string pool);
}
