namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// A place where Rampart answers differently from Redis on purpose: the commands it covers (those that start with
/// <see cref="Prefix"/>, case-insensitive), the pool kinds it applies to, and why. Each is listed in docs/commands.md
/// ("Intended differences from Redis").
/// </summary>
public sealed record IntendedDifference(string[] Prefix, PoolKind Kinds, string Reason)
{
    public bool Covers(CorpusCommand command, PoolKind kind) =>
        (Kinds & kind) != 0 && Prefix.Length <= command.Args.Length
        && Prefix.Select((word, i) => string.Equals(word, command.Arg(i), StringComparison.OrdinalIgnoreCase)).All(x => x);

    public override string ToString() => $"{string.Join(' ', Prefix)} [{Kinds}]: {Reason}";
}
