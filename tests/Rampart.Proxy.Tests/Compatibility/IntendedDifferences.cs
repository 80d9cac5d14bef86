namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// Every place the corpus shows Rampart answering differently from Redis on purpose, with the reason; the same list
/// is in docs/commands.md ("Intended differences from Redis"). The corpus test fails on a difference not covered here
/// and on an entry that no longer differs, so the list stays true both ways.
/// </summary>
public static class IntendedDifferences
{
    private const string SharedServer = "refused: it would change state every client of the shared server connections sees";
    private const string NoKey = "refused in a pool of several servers: it names no key, and no one server's answer is the whole pool's";

    public static readonly IReadOnlyList<IntendedDifference> All =
    [
        new(["DEBUG"], PoolKind.All,
            "refused: DEBUG can crash, stall or reconfigure a server that every client of the pool shares"),
        new(["CLIENT", "INFO"], PoolKind.All,
            "describes the client's connection to Rampart (Rampart's id, the client's and the listener's addresses, fd=-1, no server buffers)"),
        new(["CLIENT", "LIST"], PoolKind.All,
            "lists Rampart's clients of the pool, as CLIENT INFO describes them"),
        new(["SELECT", "1"], PoolKind.All,
            "refused: server connections are shared, so every client of a pool uses the pool's redis_db"),
        new(["SWAPDB"], PoolKind.All, SharedServer),
        new(["MOVE"], PoolKind.All, SharedServer),
        new(["CONFIG", "SET"], PoolKind.All, SharedServer),
        new(["SHUTDOWN"], PoolKind.All, SharedServer),
        new(["SCAN"], PoolKind.Sharded,
            "walks the servers one after another: its cursor also names the server (docs/commands.md, \"SCAN\"), so one call's cursor and keys differ; the whole walk returns the same keys"),
        new(["CONFIG", "GET"], PoolKind.Sharded, NoKey),
        new(["FUNCTION", "STATS"], PoolKind.Sharded, "refused in a pool of several servers: it is about the function running on one server"),
    ];
}
