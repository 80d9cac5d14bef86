namespace Rampart.Protocol;

/// <summary>Outcome of one attempt to read a request. Incomplete is a result, never an exception.</summary>
public enum ParseStatus : byte
{
    /// <summary>More bytes are needed; call again with the same start and more data.</summary>
    Incomplete,
    /// <summary>One request was read; it may have zero arguments (an empty line or <c>*0</c>), which callers skip.</summary>
    Complete,
    /// <summary>The bytes are not valid RESP; <see cref="RequestReader.Error"/> holds Redis's message.</summary>
    Error,
}
