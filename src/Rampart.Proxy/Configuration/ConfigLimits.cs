namespace Rampart.Proxy.Configuration;

/// <summary>
/// The bounds a configuration file must stay within. Real files are a few kilobytes, a few hundred nodes, 3 or 4
/// levels deep; these bounds are far above that and exist so that no file (a mistake, a truncated generator, a
/// hostile edit) can exhaust the stack or the memory of a running proxy: a file over a bound is refused with
/// <c>file:line: reason</c>, like any other error, and a reload keeps the running configuration.
/// </summary>
internal static class ConfigLimits
{
    /// <summary>The largest file read, in bytes (16 MB); a larger one is refused before it is read whole.</summary>
    public const int MaxFileBytes = 16 * 1024 * 1024;

    /// <summary>Lists and mappings nested inside each other, the top-level mapping included.</summary>
    public const int MaxDepth = 64;

    /// <summary>YAML nodes (every key, value, list and mapping) in the file.</summary>
    public const int MaxNodes = 1_000_000;
}
