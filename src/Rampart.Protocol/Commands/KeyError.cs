namespace Rampart.Protocol.Commands;

/// <summary>Why a command's keys could not be found; <see cref="KeyErrorMessages.For"/> gives Redis's own reply.</summary>
public enum KeyError
{
    None,
    /// <summary>The argument count does not fit the command's arity (Redis checks this before anything else).</summary>
    WrongArity,
    /// <summary>numkeys is not an integer (Redis's strict parse: no sign, spaces or leading zeros).</summary>
    NumKeysNotInteger,
    /// <summary>numkeys is negative.</summary>
    NumKeysNegative,
    /// <summary>numkeys is 0 or negative where at least one key is required.</summary>
    NumKeysNotPositive,
    /// <summary>numkeys is larger than the arguments that follow it.</summary>
    NumKeysTooBig,
    /// <summary>XREAD/XREADGROUP without a STREAMS option.</summary>
    StreamsMissing,
    /// <summary>XREAD/XREADGROUP with no stream or an odd number of arguments after STREAMS.</summary>
    StreamsUnbalanced,
    /// <summary>MIGRATE with both a key argument and a KEYS option.</summary>
    MigrateKeyNotEmpty,
}
