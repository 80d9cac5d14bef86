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

    /// <summary>The policy of <paramref name="config"/>'s pool: the shared default unless it has rules or is a cluster pool.</summary>
    public static CommandPolicy For(PoolConfig config) =>
        config.Cluster is not null ? new(config.Commands, config.Name, cluster: true)
        : config.Commands.IsDefault ? Default : new(config.Commands, config.Name);

    /// <param name="cluster">
    /// A Redis Cluster pool: Rampart answers cluster introspection and READONLY/READWRITE itself, as a one-node cluster
    /// (<see cref="ClusterSelfAnswers"/>), so cluster-aware clients stay on it. The pool's deny rules still apply.
    /// </param>
    public CommandPolicy(CommandRules rules, string poolName, bool cluster = false)
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
            if (cluster && ClusterSelfAnswers.Answers(command)) _handling[id] = CommandHandling.Local;
            // A cluster node refuses these whatever Rampart's rules: its own words, as a client talking to it would see.
            if (cluster && command.Name is "move" or "swapdb") _refusal[id] = $"ERR {command.Name.ToUpperInvariant()} is not allowed in cluster mode";
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
