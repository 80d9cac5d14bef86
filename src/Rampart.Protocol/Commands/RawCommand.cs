namespace Rampart.Protocol.Commands;

/// <summary>
/// One command exactly as the generator read it from Redis; CommandTable adds Rampart's policies. KeyAccess has one
/// letter per key spec (r, w, b, n: what an ACL key pattern must grant; see tools/gen-command-table.py).
/// </summary>
internal sealed record RawCommand(
    string Name, int Arity, CommandFlags Flags, AclCategories Categories, int FirstKey, int LastKey, int Step,
    RawCommand[]? Subcommands = null, string? KeyAccess = null);
