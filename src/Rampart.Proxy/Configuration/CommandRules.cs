namespace Rampart.Proxy.Configuration;

/// <summary>
/// A pool's <c>commands:</c> block, as written: <c>allow</c> lets through commands Rampart refuses by default
/// (CONFIG SET, SHUTDOWN...); <c>deny</c> refuses commands it would pass. Each entry is a command (<c>CONFIG</c>), a
/// subcommand (<c>CONFIG|SET</c>) or a Redis ACL category (<c>@admin</c>, <c>@all</c>). Deny wins over allow.
/// Checked against the command table when read (<see cref="CommandRulesReader"/>); compiled per pool by
/// Rampart.Proxy.Commands.CommandPolicy.
/// </summary>
public sealed record CommandRules
{
    public static readonly CommandRules Default = new();

    public IReadOnlyList<string> Allow { get; init; } = [];
    public IReadOnlyList<string> Deny { get; init; } = [];

    public bool IsDefault => Allow.Count == 0 && Deny.Count == 0;

    // Lists compare by content, so a reload that rewrites the same block changes nothing.
    public bool Equals(CommandRules? other) =>
        other is not null && Allow.SequenceEqual(other.Allow) && Deny.SequenceEqual(other.Deny);

    public override int GetHashCode() => HashCode.Combine(Allow.Count, Deny.Count);

    public override string ToString() =>
        IsDefault ? "default" : $"allow [{string.Join(", ", Allow)}] deny [{string.Join(", ", Deny)}]";
}
