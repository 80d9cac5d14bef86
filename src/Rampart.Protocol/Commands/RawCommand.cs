namespace Rampart.Protocol.Commands;

/// <summary>One command exactly as the generator read it from Redis; CommandTable adds Rampart's policies.</summary>
internal sealed record RawCommand(
    string Name, int Arity, CommandFlags Flags, AclCategories Categories, int FirstKey, int LastKey, int Step,
    RawCommand[]? Subcommands = null);
