using System.CommandLine;
using Rampart.Proxy.Configuration;

namespace Rampart.Cli;

/// <summary>
/// <c>rampart check</c>: validate a config and exit 0, or print <c>file:line: reason</c> lines and exit 1. A valid
/// config whose secrets lie in files others may read gets <c>file:line: warning: ...</c> lines and still exits 0.
/// </summary>
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
        // On stderr, so the stdout of a twemproxy config stays nutcracker -t's, word for word; the exit code stays 0.
        foreach (var warning in SecretFileWarnings.For(loaded.Config!)) Console.Error.WriteLine(warning);
        // Only cluster pools get a line: a twemproxy config checks with nutcracker -t's output, word for word.
        foreach (var pool in loaded.Config!.Pools)
            if (pool.Cluster is { } cluster) Console.Out.WriteLine(DescribeCluster(pool, cluster));
        foreach (var line in DescribeAcl(loaded.Config)) Console.Out.WriteLine(line);
        return 0;
    }

    /// <summary>
    /// The ACL users and which pool admits whom, one line each: "acl user alice on (1 password) ~app:* ...". Never a
    /// password or its hash. Nothing without ACL users, so a twemproxy config's output is unchanged.
    /// </summary>
    internal static IEnumerable<string> DescribeAcl(ProxyConfig config)
    {
        if (config.Settings.Acl is not { } acl) yield break;
        foreach (var user in acl.Users) yield return "acl " + user.Summary;
        if (acl.Find("default") is null)
            yield return "acl user default: not listed, so as in Redis: on, every command, key and channel; each pool's redis_auth is its password (nopass without one)";
        foreach (var pool in config.Pools)
            yield return $"pool '{pool.Name}' admits {(pool.Users is { } users ? "users " + string.Join(", ", users) : "every acl user")}";
    }

    /// <summary>
    /// What a cluster pool will do, since nothing in its servers says it: "pool 'shop' (listen 127.0.0.1:6380): Redis
    /// Cluster from seeds 10.0.0.1:7000, 10.0.0.2:7000; slot map checked every 1000 ms; user 'app' with a password".
    /// Never the password itself.
    /// </summary>
    internal static string DescribeCluster(PoolConfig pool, ClusterConfig cluster)
    {
        string auth = (cluster.User, cluster.Password) switch
        {
            ({ } user, _) => $"user '{user}' with a password",
            (null, not null) => "default user with a password",
            _ => "no password",
        };
        return $"pool '{pool.Name}' (listen {pool.Listen}): Redis Cluster from seeds {string.Join(", ", cluster.Nodes)}; "
            + $"slot map checked every {cluster.RefreshIntervalMs} ms; {auth}";
    }

    public static void PrintErrors(ConfigLoadResult loaded)
    {
        foreach (var error in loaded.Errors) Console.Error.WriteLine(error.ToString());
    }
}
