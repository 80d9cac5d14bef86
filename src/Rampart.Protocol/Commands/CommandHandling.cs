namespace Rampart.Protocol.Commands;

/// <summary>What a multiplexing proxy does with a command.</summary>
public enum CommandHandling
{
    /// <summary>Sent to the backend chosen by its keys (or any backend when keyless) over a shared connection.</summary>
    Forward,

    /// <summary>Answered by Rampart itself: the state it touches belongs to the client session, not the server.</summary>
    Local,

    /// <summary>Needs a backend connection of its own for a while (transactions, pub/sub, blocking calls).</summary>
    Pinned,

    /// <summary>Refused with <see cref="CommandInfo.RefusalMessage"/>: it cannot work, or would harm other clients, through a shared connection.</summary>
    Unsupported,
}
