namespace Rampart.Proxy.Configuration;

/// <summary>
/// Where a pool's read-only commands go (<c>read_from:</c>). Writes, transactions, blocking calls and scripts that may
/// write always go to the master.
/// </summary>
public enum ReadFrom
{
    /// <summary>Every command goes to the master (the default; what twemproxy and a plain Redis client do).</summary>
    Master,
    /// <summary>Reads go to an eligible replica; to the master when none is eligible.</summary>
    PreferReplica,
    /// <summary>Reads go to an eligible replica only; with none, they fail with the reason.</summary>
    Replica,
    /// <summary>Reads go to the node (master or eligible replica) that answered Rampart's checks fastest.</summary>
    Nearest,
}

/// <summary>The <c>read_from</c> values as written in the config file.</summary>
public static class ReadFromNames
{
    public static readonly string[] All = ["master", "prefer-replica", "replica", "nearest"];

    public static ReadFrom Parse(string name) => name switch
    {
        "prefer-replica" => ReadFrom.PreferReplica,
        "replica" => ReadFrom.Replica,
        "nearest" => ReadFrom.Nearest,
        _ => ReadFrom.Master,
    };

    public static string Name(ReadFrom value) => All[(int)value];
}
