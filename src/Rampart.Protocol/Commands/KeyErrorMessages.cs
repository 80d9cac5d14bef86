namespace Rampart.Protocol.Commands;

/// <summary>
/// The errors Redis 7.0.15 itself replies when a movable-key command's numkeys or keyword layout is malformed,
/// checked against the real server by the tests. A proxy that cannot find the keys answers these instead of
/// guessing a backend. Each command family words them differently, hence the switch on the command name.
/// </summary>
public static class KeyErrorMessages
{
    public const string NotInteger = "ERR value is not an integer or out of range";
    public const string SyntaxError = "ERR syntax error";

    /// <summary>EVAL*, FCALL*, SINTERCARD: numkeys larger than the arguments left.</summary>
    public const string NumKeysTooBig = "ERR Number of keys can't be greater than number of args";

    /// <summary>EVAL*, FCALL*: negative numkeys.</summary>
    public const string NumKeysNegative = "ERR Number of keys can't be negative";

    /// <summary>FCALL, FCALL_RO: numkeys not an integer.</summary>
    public const string FcallBadNumKeys = "ERR Bad number of keys provided";

    /// <summary>SINTERCARD, LMPOP, ZMPOP, BLMPOP, BZMPOP: numkeys not a positive integer.</summary>
    public const string NumKeysNotPositive = "ERR numkeys should be greater than 0";

    /// <summary>ZUNION, ZINTER, ZDIFF, ZINTERCARD and their STORE forms: numkeys below 1 ({0} = lowercase name).</summary>
    public const string AtLeastOneInputKeyFormat = "ERR at least 1 input key is needed for '{0}' command";

    /// <summary>XREAD, XREADGROUP: no stream, or not one ID per stream (Redis 7.0 says XREAD for both).</summary>
    public const string StreamsUnbalanced =
        "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";

    /// <summary>MIGRATE with a key and the KEYS option.</summary>
    public const string MigrateKeyNotEmpty =
        "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";

    /// <summary>Redis 7's arity error; subcommands are named "container|sub" as Redis 7 does.</summary>
    public static string WrongArity(CommandInfo command) => $"ERR wrong number of arguments for '{command.Name}' command";

    /// <summary>Redis's reply for <paramref name="error"/> on <paramref name="command"/> (allocates only for the formatted family).</summary>
    public static string For(CommandInfo command, KeyError error)
    {
        string name = command.Name;
        return error switch
        {
            KeyError.None => "",
            KeyError.WrongArity => WrongArity(command),
            KeyError.StreamsMissing => SyntaxError,
            KeyError.StreamsUnbalanced => StreamsUnbalanced,
            KeyError.MigrateKeyNotEmpty => MigrateKeyNotEmpty,
            _ => name switch
            {
                "eval" or "evalsha" or "eval_ro" or "evalsha_ro" => error switch
                {
                    KeyError.NumKeysNotInteger => NotInteger,
                    KeyError.NumKeysNegative => NumKeysNegative,
                    _ => NumKeysTooBig,
                },
                "fcall" or "fcall_ro" => error switch
                {
                    KeyError.NumKeysNotInteger => FcallBadNumKeys,
                    KeyError.NumKeysNegative => NumKeysNegative,
                    _ => NumKeysTooBig,
                },
                "sintercard" => error == KeyError.NumKeysTooBig ? NumKeysTooBig : NumKeysNotPositive,
                "lmpop" or "zmpop" or "blmpop" or "bzmpop" =>
                    error == KeyError.NumKeysTooBig ? SyntaxError : NumKeysNotPositive,
                // zunion, zinter, zdiff, zintercard, zunionstore, zinterstore, zdiffstore
                _ => error switch
                {
                    KeyError.NumKeysNotInteger => NotInteger,
                    KeyError.NumKeysTooBig => SyntaxError,
                    _ => string.Format(System.Globalization.CultureInfo.InvariantCulture, AtLeastOneInputKeyFormat, name),
                },
            },
        };
    }
}
