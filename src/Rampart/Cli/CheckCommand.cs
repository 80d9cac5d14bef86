using System.CommandLine;
using Rampart.Proxy.Configuration;

namespace Rampart.Cli;

/// <summary><c>rampart check</c>: validate a config and exit 0, or print <c>file:line: reason</c> lines and exit 1.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var config = RampartCommandLine.ConfigOption();
        var command = new Command("check", "Validate a configuration file and exit (0: valid, 1: errors, printed as file:line: reason)");
        command.Options.Add(config);
        command.SetAction(result => Run(result.GetValue(config)!));
        return command;
    }

    public static int Run(string path)
    {
        var loaded = ConfigLoader.LoadFile(path);
        if (!loaded.IsValid)
        {
            PrintErrors(loaded);
            return 1;
        }
        Console.Out.WriteLine($"rampart: configuration file '{path}' syntax is ok");
        return 0;
    }

    public static void PrintErrors(ConfigLoadResult loaded)
    {
        foreach (var error in loaded.Errors) Console.Error.WriteLine(error.ToString());
    }
}
