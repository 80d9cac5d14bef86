using Rampart.Protocol.Commands;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// Reads <c>commands: {allow: [...], deny: [...]}</c>: every entry must name a command or subcommand Rampart knows
/// (as Redis ACL writes them: <c>CONFIG</c>, <c>CONFIG|SET</c>) or an ACL category (<c>@admin</c>), so a typo is
/// refused with its line instead of silently allowing or denying nothing.
/// </summary>
internal static class CommandRulesReader
{
    private static readonly string[] Keys = ["allow", "deny"];

    public static CommandRules? Read(string poolContext, YamlNode node, ErrorSink errors)
    {
        var context = $"{poolContext} commands";
        if (node is not YamlMapping mapping)
        {
            errors.Add(node.Line, $"{context} must be a mapping with allow and/or deny lists, such as {{allow: [\"@admin\"], deny: [FLUSHALL]}}");
            return null;
        }
        int before = errors.Count;
        var rules = CommandRules.Default;
        foreach (var (key, entry) in MappingKeys.Known(mapping, Keys, context, errors))
        {
            var list = ReadList($"{context} {key}", key == "deny", entry.Value, errors);
            if (list is null) continue;
            rules = key == "allow" ? rules with { Allow = list } : rules with { Deny = list };
        }
        return errors.Count == before ? rules : null;
    }

    private static List<string>? ReadList(string context, bool deny, YamlNode node, ErrorSink errors)
    {
        if (node is not YamlSequence seq)
        {
            errors.Add(node.Line, $"{context} must be a list of commands (GET, \"CONFIG|SET\") or ACL categories (\"@admin\")");
            return null;
        }
        var entries = new List<string>();
        int before = errors.Count;
        foreach (var item in seq.Items)
        {
            if (item is not YamlScalar { IsNull: false } scalar)
            {
                errors.Add(item.Line, $"{context}: each entry must be a command, \"COMMAND|SUBCOMMAND\" or \"@category\"");
                continue;
            }
            string text = scalar.Value.Trim();
            if (Check(text, deny) is { } problem) errors.Add(scalar.Line, $"{context}: {problem}");
            else entries.Add(text);
        }
        return errors.Count == before ? entries : null;
    }

    /// <summary>Null when the entry is valid; otherwise why not.</summary>
    internal static string? Check(string entry, bool deny)
    {
        if (entry.StartsWith('@'))
        {
            return CommandRuleMatch.TryParseCategory(entry, out _) ? null
                : $"'{entry}' is not a Redis ACL category; expected one of: {string.Join(", ", CommandRuleMatch.CategoryNames)}";
        }
        var command = CommandRuleMatch.FindCommand(entry, out string? problem);
        if (command is null) return problem;
        if (deny && (command.Flags & CommandFlags.NoAuth) != 0)
            return $"'{entry}' cannot be denied: clients need it to authenticate, switch protocol or leave";
        if (!deny && command.Handling == CommandHandling.Unsupported && !command.AllowableByPolicy)
            return $"'{entry}' cannot be allowed: {command.Reason}";
        return null;
    }
}
