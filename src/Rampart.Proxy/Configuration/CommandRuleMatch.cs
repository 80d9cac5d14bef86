using System.Text;
using Rampart.Protocol.Commands;

namespace Rampart.Proxy.Configuration;

/// <summary>What one entry of a <c>commands:</c> list names, and whether it covers a given command.</summary>
internal static class CommandRuleMatch
{
    public static readonly string[] CategoryNames =
        ["@all", .. Enum.GetValues<AclCategories>().Where(c => c != AclCategories.None).Select(c => "@" + c.ToString().ToLowerInvariant())];

    /// <summary>"@admin" (any case) to its flag; "@all" gives every flag.</summary>
    public static bool TryParseCategory(string entry, out AclCategories category)
    {
        category = AclCategories.None;
        string name = entry.TrimStart('@');
        if (name.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var c in Enum.GetValues<AclCategories>()) category |= c;
            return true;
        }
        return Enum.TryParse(name, ignoreCase: true, out category) && category != AclCategories.None
            && !int.TryParse(name, out _);
    }

    /// <summary>The command ("CONFIG") or subcommand ("CONFIG|SET") an entry names, or null with the reason.</summary>
    public static CommandInfo? FindCommand(string entry, out string? problem)
    {
        problem = null;
        int bar = entry.IndexOf('|');
        string name = bar < 0 ? entry : entry[..bar];
        var command = CommandTable.Find(Encoding.UTF8.GetBytes(name));
        if (command is null)
        {
            problem = $"'{name}' is not a Redis command";
            return null;
        }
        if (bar < 0) return command;
        string sub = entry[(bar + 1)..];
        var subcommand = command.IsContainer ? CommandTable.FindSubcommand(command, Encoding.UTF8.GetBytes(sub)) : null;
        if (subcommand is null)
            problem = command.IsContainer
                ? $"'{sub}' is not a subcommand of {command.DisplayName}"
                : $"{command.DisplayName} has no subcommands, so '{entry}' names nothing";
        return subcommand;
    }

    /// <summary>True when <paramref name="entry"/> covers <paramref name="command"/>: its category, its name, or its container's name.</summary>
    public static bool Covers(string entry, CommandInfo command)
    {
        if (entry.StartsWith('@'))
            return TryParseCategory(entry, out var category) && (command.Categories & category) != 0;
        var named = FindCommand(entry, out _);
        return named is not null && (ReferenceEquals(named, command) || ReferenceEquals(named, command.Parent));
    }
}
