using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Commands;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// A pinned client's transaction state, as the server would hold it: in MULTI (with how many commands queued),
/// flagged (EXEC must answer EXECABORT), WATCHing, or broken (the connection that held the MULTI or WATCH was lost, or
/// none could be had: the rest of the transaction gets that reason). In a pool of several servers, MULTI and the
/// keyless commands before the first key are held here, answered +OK/+QUEUED by Rampart, until a key names the server.
/// </summary>
/// <remarks>
/// Not thread-safe: touched only under the owning <see cref="PinnedSession"/>'s lock, except <see cref="InMulti"/> and
/// <see cref="Queued"/>, read without it for CLIENT LIST (a snapshot, never used for a decision).
/// </remarks>
internal sealed class TransactionState
{
    public const string ExecAbort = "EXECABORT Transaction discarded because of previous errors.";

    private ByteBuffer? _held;

    public bool InMulti { get; set; }

    /// <summary>Commands queued in the open transaction, for CLIENT LIST's multi=.</summary>
    public int Queued { get; set; }

    /// <summary>Redis would flag this transaction: EXEC answers EXECABORT.</summary>
    public bool Aborted { get; set; }

    public bool Watching { get; set; }

    /// <summary>Why the transaction or WATCH cannot go on (the reply to what follows it), or null.</summary>
    public string? Broken { get; set; }

    /// <summary>Commands held until the server is known, sent (replies dropped) when it is.</summary>
    public ByteBuffer? Held => _held;

    public int HeldCount { get; private set; }

    /// <summary>Something the server would remember holds the pin: an open MULTI, a WATCH, or commands held for one.</summary>
    public bool HoldsPin => InMulti || Watching || _held is not null;

    /// <summary>MULTI: a new transaction, nothing queued, not flagged.</summary>
    public void Begin()
    {
        InMulti = true;
        Queued = 0;
        Aborted = false;
    }

    /// <summary>EXEC or DISCARD: the server forgets both the transaction and the WATCH.</summary>
    public void End() => InMulti = Watching = false;

    public void Hold(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        _held ??= new ByteBuffer(256);
        if (inline) CommandDispatcher.WriteMultibulk(_held, request);
        else _held.Write(raw);
        HeldCount++;
    }

    public void DropHeld()
    {
        _held?.Dispose();
        _held = null;
        HeldCount = 0;
    }

    /// <summary>
    /// Rampart's refusal of a command inside MULTI for what it is (on either path, before keys are looked at): a command
    /// the pool does not support, or one Rampart answers itself (the server would not queue it), except PING, ECHO and a
    /// SELECT of the pool's own database; null when the server may queue it.
    /// </summary>
    public static string? RefusalByHandling(ClientSession session, CommandInfo command, Request request)
    {
        var policy = session.Pool.Commands;
        switch (policy.HandlingOf(command))
        {
            case CommandHandling.Unsupported:
                return policy.RefusalOf(command);
            case CommandHandling.Local:
                if (command.Name is "ping" or "echo") return null;
                if (command.Name == "select" && request.Count == 2 && RespNumber.TryParse(request[1], out long db) && db == session.Pool.Config.RedisDb) return null;
                return $"ERR rampart: '{command.DisplayName}' inside MULTI is not supported (it is answered by rampart, not queued by the server)";
        }
        return null;
    }
}
