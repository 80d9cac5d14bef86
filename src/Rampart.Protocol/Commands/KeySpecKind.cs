namespace Rampart.Protocol.Commands;

/// <summary>
/// How a command's keys are found in its arguments. <see cref="Range"/> covers every command whose keys Redis can
/// describe with its legacy first/last/step triple; the other kinds are the "movablekeys" commands, each with the
/// rule of Redis 7.0's key specs (COMMAND INFO) and getkeys procs (db.c). The error texts of malformed numkeys are
/// in <see cref="KeyErrorMessages"/>.
/// </summary>
public enum KeySpecKind
{
    /// <summary>No keys (PING, INFO, CLIENT SETNAME...).</summary>
    None,

    /// <summary>Keys at FirstKey, FirstKey+Step... up to LastKey (negative: counted from the end, -1 = last arg).</summary>
    Range,

    /// <summary>EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO: numkeys at 2 (0 allowed), keys from 3.</summary>
    EvalNumKeys,

    /// <summary>ZINTER, ZUNION, ZDIFF, SINTERCARD, ZINTERCARD, LMPOP, ZMPOP: numkeys at 1 (at least 1), keys from 2.</summary>
    NumKeysAt1,

    /// <summary>ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE: destination key at 1, numkeys at 2 (at least 1), keys from 3.</summary>
    NumKeysAt2WithDestination,

    /// <summary>BLMPOP, BZMPOP: timeout at 1, numkeys at 2 (at least 1), keys from 3.</summary>
    BlockingNumKeys,

    /// <summary>XREAD (search from arg 1), XREADGROUP (from arg 4): after the first STREAMS keyword, the first half of the rest.</summary>
    Streams,

    /// <summary>SORT: key at 1, plus the argument after the last STORE option (skipping LIMIT's 2 and BY/GET's 1 arguments).</summary>
    SortStore,

    /// <summary>MIGRATE: key at 3, or when it is "" every argument after the KEYS option.</summary>
    Migrate,

    /// <summary>GEORADIUS (search from arg 6), GEORADIUSBYMEMBER (from 5): key at 1, plus the arg after the first STORE and after the first STOREDIST.</summary>
    GeoradiusStore,
}
