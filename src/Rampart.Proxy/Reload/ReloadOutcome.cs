namespace Rampart.Proxy.Reload;

/// <summary>What one reload did, for the log, the admin API and tests.</summary>
public sealed record ReloadOutcome
{
    /// <summary>False when the file was invalid (or a new listener could not bind): the previous configuration runs on.</summary>
    public required bool Success { get; init; }
    /// <summary>The pools and settings that changed ("no changes" for a reload that changed nothing).</summary>
    public required string Changes { get; init; }
    /// <summary><c>file:line: reason</c> for each error of an invalid file, or the reason a listener could not bind.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];
    public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;
}
