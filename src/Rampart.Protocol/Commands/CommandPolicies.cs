namespace Rampart.Protocol.Commands;

/// <summary>
/// Rampart's own decisions about commands, kept apart from the generated Redis facts so regeneration never loses
/// them. The rule: anything that changes state of the (shared) server connection or server-wide state other clients
/// share, or that cannot work through a multiplexed connection, is refused with a reason; state that belongs to the
/// client session is answered locally; read-only introspection and data commands are forwarded.
/// A command or subcommand not named here is forwarded.
/// </summary>
internal static class CommandPolicies
{
    private const string SharedConnection = "it changes the state of a server connection rampart shares between clients";
    private const string ServerConfig = "it changes server-wide configuration shared by every client";
    private const string Users = "it changes the server's users, shared by every client";
    private const string Replication = "replication is between servers; rampart follows it but does not drive it";
    private const string ClusterConfig = "it changes the cluster's configuration; rampart only follows it";
    private const string Persistence = "persistence of a shared server is managed on the server, not through the proxy";
    private const string Transaction = "transactions need a server connection of their own";
    private const string PubSub = "subscriptions need a server connection of their own";
    private const string Blocking = "blocking calls need a server connection of their own";

    internal static CommandHandling Handling(string name, out string? reason)
    {
        reason = name switch
        {
            // Pinned: each runs on a dedicated server connection lent for as long as its state lasts (Rampart.Proxy/Pinning).
            "multi" or "exec" or "discard" or "watch" or "unwatch" => Transaction,
            "subscribe" or "psubscribe" or "ssubscribe" or "unsubscribe" or "punsubscribe" or "sunsubscribe" => PubSub,
            "blpop" or "brpop" or "blmove" or "brpoplpush" or "bzpopmin" or "bzpopmax" or "blmpop" or "bzmpop"
                or "wait" => Blocking,

            // Unsupported.
            "monitor" => "it streams every command the server runs, other clients' included",
            "sync" or "psync" or "replconf" => "replication commands are for replicas, not proxy clients",
            "replicaof" or "slaveof" or "failover" => Replication,
            "shutdown" => "it would stop a server shared by every client",
            "debug" => "it can change or crash a server shared by every client",
            "swapdb" => "it swaps databases under every client of the shared server",
            "move" => "it moves keys between databases on a shared connection",
            "readonly" or "readwrite" => SharedConnection,
            "asking" or "restore-asking" => "cluster redirections are handled by rampart itself",
            "save" or "bgsave" or "bgrewriteaof" => Persistence,
            "client|pause" or "client|unpause" => "it pauses every client of the shared server",
            "config|set" or "config|rewrite" => ServerConfig,
            "config|resetstat" or "latency|reset" or "slowlog|reset" => "it resets statistics shared by every client",
            "acl|setuser" or "acl|deluser" or "acl|load" or "acl|save" => Users,
            "module|load" or "module|loadex" or "module|unload" => "it changes the modules of a server shared by every client",
            "script|debug" => "the Lua debugger needs a server connection of its own",
            "cluster|addslots" or "cluster|addslotsrange" or "cluster|bumpepoch" or "cluster|delslots"
                or "cluster|delslotsrange" or "cluster|failover" or "cluster|flushslots" or "cluster|forget"
                or "cluster|meet" or "cluster|replicate" or "cluster|reset" or "cluster|saveconfig"
                or "cluster|set-config-epoch" or "cluster|setslot" => ClusterConfig,
            _ => null,
        };
        if (reason is not null)
            return reason is Transaction or PubSub or Blocking ? CommandHandling.Pinned : CommandHandling.Unsupported;

        return name switch
        {
            // Session state Rampart keeps per client, so it answers them itself.
            "ping" or "echo" or "quit" or "hello" or "auth" or "select" or "reset" => CommandHandling.Local,
            "command|count" => CommandHandling.Local,
            "client|setname" or "client|getname" or "client|id" or "client|info" or "client|list"
                or "client|no-evict" or "client|setinfo" => CommandHandling.Local,
            // Kills Rampart's own clients (of the same pool), never its shared server connections.
            "client|kill" => CommandHandling.Local,
            // Names Rampart's own clients: one blocked on its dedicated connection is unblocked there (ClientUnblockCommand).
            "client|unblock" => CommandHandling.Local,
            // Replies are written by the client's own session, which can skip them without touching the server side.
            "client|reply" => CommandHandling.Local,
            // The backend would name rampart's own server user; the session knows whom the client authenticated as.
            "acl|whoami" => CommandHandling.Local,
            _ => CommandHandling.Forward,
        };
    }

    /// <summary>
    /// False for the refused commands that cannot work through Rampart whatever an operator allows: they change the
    /// state of the shared connection itself (READONLY), turn it into a replication stream (SYNC), need an interactive
    /// session (SCRIPT DEBUG), or are Rampart's own business (ASKING). Every other refused command acts on what all
    /// clients share, or shows it (MONITOR, which gets a connection of its own), and passes when a pool's
    /// <c>commands: allow</c> names it.
    /// </summary>
    internal static bool AllowableByPolicy(string name) => name is not (
        "sync" or "psync" or "replconf" or "readonly" or "readwrite" or "asking" or "restore-asking" or "script|debug");

    /// <summary>
    /// The key kind: Range from the legacy triple (None when keyless), except the movablekeys commands, each named in
    /// <see cref="KeyKindOverride"/>. A movablekeys command not named there fails the drift test, so a command a new
    /// Redis adds cannot be routed by guess.
    /// </summary>
    internal static KeySpecKind KeyKind(string name, int firstKey) =>
        KeyKindOverride(name) ?? (firstKey > 0 ? KeySpecKind.Range : KeySpecKind.None);

    internal static KeySpecKind? KeyKindOverride(string name) => name switch
    {
        "eval" or "evalsha" or "eval_ro" or "evalsha_ro" or "fcall" or "fcall_ro" => KeySpecKind.EvalNumKeys,
        "zinter" or "zunion" or "zdiff" or "sintercard" or "zintercard" or "lmpop" or "zmpop" => KeySpecKind.NumKeysAt1,
        "zunionstore" or "zinterstore" or "zdiffstore" => KeySpecKind.NumKeysAt2WithDestination,
        "blmpop" or "bzmpop" => KeySpecKind.BlockingNumKeys,
        "xread" or "xreadgroup" => KeySpecKind.Streams,
        "sort" => KeySpecKind.SortStore,
        // SORT_RO has no STORE; its BY/GET patterns name keys only through the sorted key's content (Redis's
        // "unknown" key spec), which no proxy can route, so its one key is the legacy range.
        "sort_ro" => KeySpecKind.Range,
        "migrate" => KeySpecKind.Migrate,
        "georadius" or "georadiusbymember" => KeySpecKind.GeoradiusStore,
        _ => null,
    };

    /// <summary>Redis's key spec "startfrom" of the keyword searches (STREAMS, STORE/STOREDIST).</summary>
    internal static int KeywordSearchFrom(string name) => name switch
    {
        "xread" => 1,
        "xreadgroup" => 4,         // after GROUP group consumer
        "georadius" => 6,          // after key longitude latitude radius unit
        "georadiusbymember" => 5,  // after key member radius unit
        _ => 0,
    };

    internal static bool MultiKeySplittable(string name) =>
        name is "mget" or "mset" or "del" or "unlink" or "exists" or "touch";

    /// <summary>
    /// Commands Redis runs while another client's script, function or paused write is busy, that Rampart forwards:
    /// they must not wait behind that call on a shared connection (<see cref="CommandInfo.RunsBesideBusyCalls"/>).
    /// Redis's own allow_busy flag marks the first four; CLIENT UNPAUSE is what ends a CLIENT PAUSE WRITE that holds a
    /// shared connection's write.
    /// </summary>
    internal static bool RunsBesideBusyCalls(string name) =>
        name is "script|kill" or "function|kill" or "function|stats" or "shutdown" or "client|unpause";

    /// <summary>
    /// Commands Redis 7.0 holds while writes are paused (CLIENT PAUSE WRITE) besides those flagged write: the ones
    /// that may replicate (processCommand's is_may_replicate_command; COMMAND does not report that flag). EXEC is held
    /// when a command it queued would be (Rampart.Proxy's WholeTransaction looks at them).
    /// </summary>
    internal static bool MayReplicate(string name) =>
        name is "eval" or "evalsha" or "fcall" or "publish" or "spublish" or "pfcount";
}
