using Rampart.Protocol.Commands;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Commands;

/// <summary>
/// A pool's command rules compiled into one slot per command id, so the request path reads an array instead of
/// matching rules: the handling Rampart applies (a refused command an operator allowed becomes
/// <see cref="CommandHandling.Forward"/>, a denied one <see cref="CommandHandling.Unsupported"/>) and the error a
/// refused command gets. Immutable; a reload builds a new one.
/// </summary>
internal sealed class CommandPolicy
{
    public static readonly CommandPolicy Default = new(CommandRules.Default, "");

    private readonly CommandHandling[] _handling;
    private readonly string?[] _refusal;
    private readonly bool[] _allowed;

    public CommandPolicy(CommandRules rules, string poolName)
    {
        Rules = rules;
        int count = CommandTable.Count;
        _handling = new CommandHandling[count];
        _refusal = new string?[count];
        _allowed = new bool[count];
        for (int id = 0; id < count; id++)
        {
            var command = CommandTable.ForId(id);
            _handling[id] = command.Handling;
            _refusal[id] = command.RefusalMessage;
            if (rules.IsDefault) continue;
            bool refusedByDefault = command.Handling == CommandHandling.Unsupported;
            _allowed[id] = (!refusedByDefault || command.AllowableByPolicy) && rules.Allow.Any(rule => CommandRuleMatch.Covers(rule, command));
            if (_allowed[id] && refusedByDefault) _handling[id] = CommandHandling.Forward;
            // AUTH, HELLO, QUIT and RESET stay: a client must always be able to authenticate, switch protocol and leave.
            if ((command.Flags & CommandFlags.NoAuth) != 0) continue;
            if (rules.Deny.FirstOrDefault(rule => CommandRuleMatch.Covers(rule, command)) is { } rule)
            {
                _handling[id] = CommandHandling.Unsupported;
                _allowed[id] = false;
                _refusal[id] = $"NOPERM rampart: pool '{poolName}' denies '{command.DisplayName}' (commands: deny: {rule})";
            }
        }
    }

    public CommandRules Rules { get; }

    /// <summary>What Rampart does with the command in this pool.</summary>
    public CommandHandling HandlingOf(CommandInfo command) => _handling[command.Id];

    /// <summary>The error a command refused in this pool gets (valid when <see cref="HandlingOf"/> is Unsupported).</summary>
    public string RefusalOf(CommandInfo command) => _refusal[command.Id]!;

    /// <summary>
    /// True when the pool's allow list names the command (and deny does not): a command refused by default passes,
    /// and one that needs consent in a pool of several servers (FLUSHALL, like allow_flush) gets it.
    /// </summary>
    public bool AllowedByRule(CommandInfo command) => _allowed[command.Id];
}
