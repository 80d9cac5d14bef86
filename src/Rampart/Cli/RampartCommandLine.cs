using System.CommandLine;

namespace Rampart.Cli;

/// <summary>
/// The command line contract (docs/architecture.md): <c>rampart serve --config FILE</c>, <c>rampart check --config FILE</c>,
/// <c>rampart demo</c>, <c>--version</c>, <c>--help</c>, and nutcracker's flags on the root command
/// (<see cref="NutcrackerOptions"/>). Scripts and packagers depend on it: keep it stable.
/// </summary>
internal static class RampartCommandLine
{
    public const string DefaultConfig = "rampart.yml";

    public static RootCommand Build()
    {
        var root = new RootCommand("Rampart: a Redis proxy. Twemproxy-compatible sharding and stats, Sentinel-aware failover, fail-closed writes.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(CheckCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        // nutcracker's flags, so a unit file running nutcracker only changes the binary name; -V as nutcracker spells it.
        new NutcrackerOptions().AddTo(root);
        root.Options.OfType<System.CommandLine.VersionOption>().First().Aliases.Add("-V");
        return root;
    }

    /// <summary>A TCP port: 0 (any free port) to 65535.</summary>
    public static void PortValidator(System.CommandLine.Parsing.OptionResult result)
    {
        var token = result.Tokens.Count > 0 ? result.Tokens[0].Value : null;
        if (token is not null && (!int.TryParse(token, out int port) || port is < 0 or > 65535))
            result.AddError($"'{token}' is not a valid port (0-65535)");
    }

    public static Option<string> ConfigOption() => new("--config", "-c")
    {
        Description = "Configuration file (nutcracker.yml format, plus Rampart's keys)",
        DefaultValueFactory = _ => DefaultConfig,
    };
}
