using System.CommandLine;

namespace Rampart.Cli;

/// <summary>
/// The command line contract (docs/architecture.md): <c>rampart serve --config FILE</c>, <c>rampart check --config FILE</c>,
/// <c>rampart demo</c>, <c>--version</c>, <c>--help</c>. Scripts and packagers depend on it: keep it stable.
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
        return root;
    }

    public static Option<string> ConfigOption() => new("--config", "-c")
    {
        Description = "Configuration file (nutcracker.yml format, plus Rampart's keys)",
        DefaultValueFactory = _ => DefaultConfig,
    };
}
