using System.Text;

namespace Rampart.Protocol.Commands;

/// <summary>
/// One Redis command or subcommand: what Redis says about it (generated from COMMAND) and what Rampart does with it
/// (CommandPolicies). Immutable; built once by <see cref="CommandTable"/>.
/// </summary>
public sealed class CommandInfo
{
    private static readonly IReadOnlyList<CommandInfo> NoSubcommands = [];

    internal CommandInfo(RawCommand raw, CommandInfo? parent)
    {
        Name = raw.Name;
        Parent = parent;
        int bar = raw.Name.IndexOf('|');
        string token = bar < 0 ? raw.Name : raw.Name[(bar + 1)..];
        NameBytes = Encoding.ASCII.GetBytes(token.ToUpperInvariant());
        LowerToken = Encoding.ASCII.GetBytes(token);
        DisplayName = raw.Name.Replace('|', ' ').ToUpperInvariant();
        Arity = raw.Arity;
        Flags = raw.Flags;
        Categories = raw.Categories;
        FirstKey = raw.FirstKey;
        LastKey = raw.LastKey;
        Step = raw.Step;
        Keys = CommandPolicies.KeyKind(raw.Name, raw.FirstKey);
        KeyAccess = raw.KeyAccess is { } access ? Array.ConvertAll(access.ToCharArray(), AccessOf) : [];
        _variableKeyAccess = raw.Name switch { "set" => 1, "bitfield" => 2, _ => 0 };
        KeywordSearchFrom = CommandPolicies.KeywordSearchFrom(raw.Name);
        Handling = CommandPolicies.Handling(raw.Name, out string? reason);
        Reason = reason;
        MultiKeySplittable = CommandPolicies.MultiKeySplittable(raw.Name);
        RunsBesideBusyCalls = CommandPolicies.RunsBesideBusyCalls(raw.Name);
        MayWaitForWritePause = (raw.Flags & CommandFlags.Write) != 0 || CommandPolicies.MayReplicate(raw.Name);
        MayWrite = (raw.Flags & CommandFlags.Write) != 0 || raw.Name is "eval" or "evalsha" or "fcall";
        ChangesPause = raw.Name is "client|pause" or "client|unpause";
        TakesWholeConnection = raw.Name is "client|tracking" or "monitor";
        AllowableByPolicy = Handling == CommandHandling.Unsupported && CommandPolicies.AllowableByPolicy(raw.Name);
        if (reason is not null)
        {
            string verb = Handling == CommandHandling.Pinned ? "not supported yet" : "not supported";
            string hint = AllowableByPolicy ? " (a pool's 'commands: allow' list can let it through)" : "";
            RefusalMessage = $"ERR '{DisplayName}' is {verb} by rampart: {reason}{hint}";
            RefusalMessageBytes = Encoding.UTF8.GetBytes(RefusalMessage);
        }
        SubcommandArray = raw.Subcommands is { Length: > 0 } subs
            ? Array.ConvertAll(subs, s => new CommandInfo(s, this))
            : [];
        Subcommands = SubcommandArray.Length > 0 ? Array.AsReadOnly(SubcommandArray) : NoSubcommands;
    }

    /// <summary>Dense index over every command and subcommand (0 .. CommandTable.Count - 1), for per-command counters.</summary>
    public int Id { get; internal set; }

    /// <summary>Lowercase, as Redis 7 names it: "get", and "client|setname" for a subcommand.</summary>
    public string Name { get; }

    /// <summary>Uppercase name as written in error texts: "GET", "CLIENT SETNAME".</summary>
    public string DisplayName { get; }

    /// <summary>Uppercase wire token that selects this entry: "GET" for a command, "SETNAME" for client|setname.</summary>
    public ReadOnlyMemory<byte> NameBytes { get; }

    /// <summary>The lowercase wire token, compared against requests.</summary>
    internal byte[] LowerToken { get; }

    /// <summary>The container of a subcommand (CLIENT for client|setname), null for a top-level command.</summary>
    public CommandInfo? Parent { get; }

    /// <summary>Redis arity, counting the command name (and the subcommand): positive = exact, negative = at least |n|.</summary>
    public int Arity { get; }

    public CommandFlags Flags { get; }

    /// <summary>Redis's ACL categories of this command (for a subcommand, its own), as a pool's command policy names them.</summary>
    public AclCategories Categories { get; }

    /// <summary>Legacy key range from COMMAND: first key index (0 = none).</summary>
    public int FirstKey { get; }

    /// <summary>Legacy key range: last key index, negative counts from the end (-1 = last argument).</summary>
    public int LastKey { get; }

    /// <summary>Legacy key range: distance between keys (MSET: 2).</summary>
    public int Step { get; }

    /// <summary>How the keys are found; see <see cref="GetKeys"/>.</summary>
    public KeySpecKind Keys { get; }

    /// <summary>
    /// What an ACL key pattern must grant for each key spec, in Redis's order (empty: the command has no keys an ACL
    /// checks). The n-th key <see cref="GetKeys"/> yields takes entry n, and the keys past the last take the last.
    /// </summary>
    internal KeyAccess[] KeyAccess { get; }

    /// <summary>
    /// What an ACL key pattern must grant for the <paramref name="ordinal"/>-th key of <paramref name="request"/>
    /// (0-based, in <see cref="GetKeys"/> order). SET and BITFIELD are Redis's two "variable flags" commands: their
    /// getkeys procs (db.c) decide by the arguments, SET needing read access only with GET, BITFIELD write access
    /// unless every operation is a GET.
    /// </summary>
    public KeyAccess KeyAccessOf(Request request, int ordinal)
    {
        var table = KeyAccess;
        if (table.Length == 0) return Commands.KeyAccess.None;
        if (_variableKeyAccess == 1) return SetGets(request) ? Commands.KeyAccess.ReadWrite : Commands.KeyAccess.Write;
        if (_variableKeyAccess == 2) return BitfieldReadOnly(request) ? Commands.KeyAccess.Read : Commands.KeyAccess.ReadWrite;
        return table[Math.Min(ordinal, table.Length - 1)];
    }

    // 1 = SET, 2 = BITFIELD: set once so the check compares an int, not the name, per key.
    private readonly int _variableKeyAccess;

    /// <summary>True when an ACL checks this command's keys (a NOT_KEY shard channel is checked as a channel instead).</summary>
    public bool HasAclKeys => KeyAccess.Length > 0;

    private static KeyAccess AccessOf(char letter) => letter switch
    {
        'r' => Commands.KeyAccess.Read,
        'w' => Commands.KeyAccess.Write,
        'b' => Commands.KeyAccess.ReadWrite,
        _ => Commands.KeyAccess.None,
    };

    // db.c setGetKeys: a GET among the options (from the 4th argument) reads the old value.
    private static bool SetGets(Request request)
    {
        for (int i = 3; i < request.Count; i++)
            if (request[i].Length == 3 && Ascii.EqualsIgnoreCase(request[i], "GET"u8)) return true;
        return false;
    }

    // db.c bitfieldGetKeys: read-only while every operation is GET (or OVERFLOW); anything else, a syntax error
    // included, counts as a write.
    private static bool BitfieldReadOnly(Request request)
    {
        for (int i = 2; i < request.Count; i++)
        {
            int rest = request.Count - i - 1;
            var arg = request[i];
            if (Ascii.EqualsIgnoreCase(arg, "GET"u8) && rest >= 2) i += 2;
            else if ((Ascii.EqualsIgnoreCase(arg, "SET"u8) || Ascii.EqualsIgnoreCase(arg, "INCRBY"u8)) && rest >= 3) return false;
            else if (Ascii.EqualsIgnoreCase(arg, "OVERFLOW"u8) && rest >= 1) i += 1;
            else return false;
        }
        return true;
    }

    /// <summary>Where Streams and GeoradiusStore start looking for their keyword (Redis's key spec "startfrom").</summary>
    internal int KeywordSearchFrom { get; }

    /// <summary>Rampart's default handling; a pool's command policy may change it (Rampart.Proxy's CommandPolicy).</summary>
    public CommandHandling Handling { get; }

    /// <summary>
    /// True for an <see cref="CommandHandling.Unsupported"/> command that works through a shared connection but is
    /// refused by default because it acts on what every client shares (CONFIG SET, SHUTDOWN, SAVE...): a pool's
    /// <c>commands: allow</c> list may let it through. False for what cannot work through a proxy at all (SYNC,
    /// READONLY, CLIENT TRACKING...), whatever the policy says.
    /// </summary>
    public bool AllowableByPolicy { get; }

    /// <summary>Short human reason for Pinned and Unsupported handling, used in <see cref="RefusalMessage"/>.</summary>
    public string? Reason { get; }

    /// <summary>"ERR 'MONITOR' is not supported by rampart: reason" (without '-' and CRLF), for Pinned/Unsupported.</summary>
    public string? RefusalMessage { get; }

    /// <summary><see cref="RefusalMessage"/> as UTF-8, to write without allocating.</summary>
    public ReadOnlyMemory<byte> RefusalMessageBytes { get; }

    /// <summary>Subcommands of a container command (CLIENT, CONFIG...), sorted by name; empty otherwise.</summary>
    public IReadOnlyList<CommandInfo> Subcommands { get; }

    /// <summary>The same as <see cref="Subcommands"/>, as an array so lookups loop without an enumerator.</summary>
    internal CommandInfo[] SubcommandArray { get; }

    public bool IsContainer => SubcommandArray.Length > 0;

    /// <summary>
    /// True for MGET, MSET, DEL, UNLINK, EXISTS, TOUCH: a sharded proxy may split them per key (by <see cref="Step"/>,
    /// each key with its Step-1 following arguments) and merge the replies.
    /// </summary>
    public bool MultiKeySplittable { get; }

    /// <summary>
    /// True for SCRIPT KILL, FUNCTION KILL, FUNCTION STATS, SHUTDOWN and CLIENT UNPAUSE: Redis runs them while another
    /// client's script or paused write is busy, so Rampart sends them on a connection of their own to the server
    /// (a control connection), never behind that call on the shared one.
    /// </summary>
    public bool RunsBesideBusyCalls { get; }

    /// <summary>True for the commands Redis holds while writes are paused (CLIENT PAUSE WRITE): writes, scripts, PUBLISH...</summary>
    public bool MayWaitForWritePause { get; }

    /// <summary>
    /// CLIENT TRACKING (when turned on) and MONITOR: the client takes a server connection whole from then on
    /// (Rampart.Proxy's PassThroughSession); never sent on a shared connection or one lent for a while.
    /// </summary>
    public bool TakesWholeConnection { get; }

    /// <summary>CLIENT PAUSE and CLIENT UNPAUSE: Rampart notes the pause they start or end (ServerEndpoint.NotePause).</summary>
    public bool ChangesPause { get; }

    public bool IsWrite => (Flags & CommandFlags.Write) != 0;

    /// <summary>
    /// A write, or a script or function that may write (EVAL, EVALSHA, FCALL: Redis cannot tell before it runs; their
    /// _RO forms cannot write). Rampart's durable writes (min_replicas_ack) hold the reply of each such command.
    /// </summary>
    public bool MayWrite { get; }

    public bool IsReadOnly => (Flags & CommandFlags.ReadOnly) != 0;

    /// <summary>Redis's arity check: arity &gt; 0 ? argc == arity : argc &gt;= -arity.</summary>
    public bool ArityAccepts(int argc) => Arity > 0 ? argc == Arity : argc >= -Arity;

    /// <summary>The argument indexes of the request's keys (check <see cref="KeyEnumerator.IsValid"/>). No allocation.</summary>
    public KeyEnumerator GetKeys(Request request) => new(this, request);

    /// <summary>Same as <see cref="GetKeys"/>, reporting validity as the result.</summary>
    public bool TryGetKeys(Request request, out KeyEnumerator keys)
    {
        keys = new KeyEnumerator(this, request);
        return keys.IsValid;
    }

    /// <summary>Index of the first key, or -1 when the request has none or its keys are malformed.</summary>
    public int FirstKeyIndex(Request request)
    {
        var keys = new KeyEnumerator(this, request);
        return keys.MoveNext() ? keys.Current : -1;
    }

    /// <summary>
    /// True when this call may block its connection: every Blocking command, except XREAD/XREADGROUP which block only
    /// with a BLOCK option before STREAMS.
    /// </summary>
    public bool IsBlockingCall(Request request)
    {
        if ((Flags & CommandFlags.Blocking) == 0) return false;
        if (Keys != KeySpecKind.Streams) return true;
        for (int i = KeywordSearchFrom; i < request.Count - 1; i++)
        {
            var arg = request[i];
            if (arg.Length == 7 && Ascii.EqualsIgnoreCase(arg, "STREAMS"u8)) return false;
            if (arg.Length == 5 && Ascii.EqualsIgnoreCase(arg, "BLOCK"u8)) return true;
        }
        return false;
    }

    public override string ToString() => Name;
}
