using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace Rampart.Proxy.Observability;

/// <summary>
/// Log levels that can change while Rampart runs (the admin API's <c>/loglevel</c>): a default and per-category
/// overrides, matched by the longest category prefix as Microsoft.Extensions.Logging's own rules are
/// ("Rampart.Sentinel" covers "Rampart.Sentinel" and "Rampart.Sentinel.Events"). The logger factory asks
/// <see cref="IsEnabled"/> through a filter; answers are cached per category until the next change.
/// </summary>
public sealed class RuntimeLogLevels
{
    private volatile ImmutableSortedDictionary<string, LogLevel> _overrides = ImmutableSortedDictionary.Create<string, LogLevel>(StringComparer.OrdinalIgnoreCase);
    private volatile ConcurrentDictionary<string, LogLevel> _resolved = new(StringComparer.Ordinal);
    private volatile int _default;
    private readonly object _write = new();

    public RuntimeLogLevels(LogLevel defaultLevel = LogLevel.Information) => _default = (int)defaultLevel;

    /// <summary>Raised after any change, with nothing held.</summary>
    public event Action? Changed;

    public LogLevel Default
    {
        get => (LogLevel)_default;
        set
        {
            _default = (int)value;
            Invalidate();
        }
    }

    public IReadOnlyDictionary<string, LogLevel> Overrides => _overrides;

    public bool IsEnabled(string category, LogLevel level) => level != LogLevel.None && level >= LevelOf(category);

    /// <summary>The minimum level in force for <paramref name="category"/>.</summary>
    public LogLevel LevelOf(string category)
    {
        var resolved = _resolved;
        if (resolved.TryGetValue(category, out var level)) return level;
        level = Resolve(category);
        resolved.TryAdd(category, level);
        return level;
    }

    /// <summary>Sets the level of a category and everything under it; null removes the override.</summary>
    public void Set(string category, LogLevel? level)
    {
        lock (_write)
        {
            _overrides = level is { } l ? _overrides.SetItem(category, l) : _overrides.Remove(category);
        }
        Invalidate();
    }

    private LogLevel Resolve(string category)
    {
        string? best = null;
        LogLevel level = Default;
        foreach (var (prefix, value) in _overrides)
        {
            bool covers = category.Equals(prefix, StringComparison.OrdinalIgnoreCase)
                || (category.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && category.Length > prefix.Length && category[prefix.Length] == '.');
            if (covers && (best is null || prefix.Length > best.Length))
            {
                best = prefix;
                level = value;
            }
        }
        return level;
    }

    private void Invalidate()
    {
        _resolved = new ConcurrentDictionary<string, LogLevel>(StringComparer.Ordinal);
        Changed?.Invoke();
    }
}
