using System.Runtime.CompilerServices;
using System.Text;

namespace Rampart.Protocol.Commands;

/// <summary>
/// Every Redis command Rampart knows, looked up by the name bytes a client sent, in any case, without allocating.
/// Lookup is a bucket per (length, first letter) holding one or a few entries, then one case-insensitive compare:
/// GET and SET each land in a bucket with two or three names.
/// </summary>
public static class CommandTable
{
    private const int Letters = 26;
    private static readonly CommandInfo[] Commands;
    private static readonly CommandInfo[]?[] Buckets;
    private static readonly int MaxNameLength;
    private static readonly CommandInfo[] ById;

    static CommandTable()
    {
        Commands = Array.ConvertAll(CommandTableData.Commands(), raw => new CommandInfo(raw, null));
        MaxNameLength = Commands.Max(c => c.LowerToken.Length);
        var lists = new List<CommandInfo>?[(MaxNameLength + 1) * Letters];
        foreach (var command in Commands)
        {
            int slot = Slot(command.LowerToken);
            if (slot < 0) throw new InvalidOperationException($"command name '{command.Name}' does not start with a letter");
            (lists[slot] ??= []).Add(command);
        }
        Buckets = Array.ConvertAll(lists, l => l?.ToArray());
        All = Array.AsReadOnly(Commands);
        // Dense ids, commands and subcommands alike, so per-command counters are array slots, not dictionary lookups.
        var byId = new List<CommandInfo>();
        foreach (var command in Commands)
        {
            command.Id = byId.Count;
            byId.Add(command);
            foreach (var sub in command.SubcommandArray)
            {
                sub.Id = byId.Count;
                byId.Add(sub);
            }
        }
        ById = byId.ToArray();
    }

    /// <summary>How many commands and subcommands there are: every <see cref="CommandInfo.Id"/> is below this.</summary>
    public static int Count => ById.Length;

    /// <summary>The command or subcommand with this <see cref="CommandInfo.Id"/>.</summary>
    public static CommandInfo ForId(int id) => ById[id];

    /// <summary>Top-level commands, sorted by name; subcommands hang off <see cref="CommandInfo.Subcommands"/>.</summary>
    public static IReadOnlyList<CommandInfo> All { get; }

    /// <summary>The Redis version the table was generated from.</summary>
    public static string RedisVersion => CommandTableData.RedisVersion;

    /// <summary>The top-level command named <paramref name="name"/> (any case), or null.</summary>
    public static CommandInfo? Find(ReadOnlySpan<byte> name)
    {
        if (name.Length == 0 || name.Length > MaxNameLength) return null;
        int slot = Slot(name);
        if (slot < 0) return null;
        var bucket = Buckets[slot];
        if (bucket is null) return null;
        foreach (var command in bucket)
            if (Ascii.EqualsIgnoreCase(name, command.LowerToken)) return command;
        return null;
    }

    /// <summary>The subcommand of <paramref name="parent"/> named <paramref name="sub"/> (any case), or null.</summary>
    public static CommandInfo? FindSubcommand(CommandInfo parent, ReadOnlySpan<byte> sub)
    {
        foreach (var command in parent.SubcommandArray)
            if (command.LowerToken.Length == sub.Length && Ascii.EqualsIgnoreCase(sub, command.LowerToken))
                return command;
        return null;
    }

    /// <summary>
    /// The entry that governs <paramref name="request"/>: the subcommand when arg 0 is a container and arg 1 names
    /// one of its subcommands, else the command itself; null for an empty request or an unknown command.
    /// When a container comes back with two or more arguments the subcommand was unknown: answer
    /// <see cref="CommandErrors.UnknownSubcommand"/>. With one argument, its arity (all -2 except COMMAND's -1) decides.
    /// </summary>
    public static CommandInfo? Resolve(Request request)
    {
        if (request.Count == 0) return null;
        var command = Find(request.Command);
        if (command is null || !command.IsContainer || request.Count < 2) return command;
        return FindSubcommand(command, request[1]) ?? command;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Slot(ReadOnlySpan<byte> name)
    {
        uint letter = (uint)((name[0] | 0x20) - 'a'); // ASCII case fold; anything but a letter lands above 25
        return letter < Letters ? name.Length * Letters + (int)letter : -1;
    }
}
