using System.Text;

namespace Rampart.Proxy.Backends;

/// <summary>
/// Durable writes (<c>min_replicas_ack: N</c>, <c>ack_timeout: ms</c>). Redis replicates asynchronously: a master that
/// crashes takes the writes its replicas had not received, although their clients were told <c>+OK</c>. So a
/// connection that writes a batch holding writes sends <c>WAIT N ms</c> right after it, one per batch rather than one
/// per command, and the link holds each write's reply until the WAIT answers: with N replicas or more the replies go
/// out as they came; with fewer, each write is answered with <see cref="Shortfall"/> instead, since it reached the
/// master but may not survive it. A write Redis refused (an error reply) is not held. Reads are never held, and clients
/// without writes never share a connection with a WAIT (ClientSession.ConnectionTo keeps writes on a lane of their own).
/// </summary>
internal sealed class WriteAcks
{
    private static readonly IReplyOwner Nobody = new NoClient();

    private WriteAcks(int replicas, int timeoutMs, bool full)
    {
        Replicas = replicas;
        _ackTimeoutMs = timeoutMs;
        TimeoutMs = full ? timeoutMs : 0;
        IsFull = full;
        // A short WAIT asks for 0 replicas: Redis answers at once with how many have the writes already.
        int asked = full ? replicas : 0;
        Command = Encoding.ASCII.GetBytes($"*3\r\n$4\r\nWAIT\r\n${Digits(asked)}\r\n{asked}\r\n${Digits(TimeoutMs)}\r\n{TimeoutMs}\r\n");
    }

    private readonly int _ackTimeoutMs;

    /// <summary>How many replicas must have the writes (<c>min_replicas_ack</c>).</summary>
    public int Replicas { get; }
    /// <summary>How long the WAIT may wait: <c>ack_timeout</c>, or 0 for a short one.</summary>
    public int TimeoutMs { get; }
    /// <summary>False for the WAIT sent while the replicas are known short (<see cref="ShortRecheckMs"/>).</summary>
    public bool IsFull { get; }
    /// <summary>The WAIT command's bytes.</summary>
    public byte[] Command { get; }

    private static int Digits(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture).Length;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, int, bool), WriteAcks> Made = new();

    /// <summary>The WAIT for these settings, full or short (one object each, shared by every connection).</summary>
    public static WriteAcks For(int replicas, int timeoutMs, bool full = true) =>
        Made.GetOrAdd((replicas, timeoutMs, full), k => new WriteAcks(k.Item1, k.Item2, k.Item3));

    /// <summary>
    /// While a server's replicas are short (its last full WAIT came back with fewer than asked), its batches end with a
    /// short WAIT, <c>WAIT 0 0</c>, which Redis answers at once with how many replicas have the writes already. A full
    /// WAIT holds its connection for as long as it waits (and Redis notices a short timeout only at its next event
    /// loop turn, up to 100 ms later on an otherwise idle master), so with a replica down every batch would hold the
    /// writers' lane for the whole timeout and their writes would queue behind one another until the pool's
    /// <c>timeout</c> failed them. They get NOREPLICAS at once instead; a full WAIT is tried again every
    /// <see cref="ShortRecheckMs"/> by one batch only (ServerEndpoint.AcksForBatch), and one that gets enough replicas
    /// ends the short state. So this is how long a server stays "short" before a batch waits the full
    /// <c>ack_timeout</c> again.
    /// </summary>
    public const int ShortRecheckMs = 1000;

    /// <summary>
    /// The error a held write gets when fewer than <see cref="Replicas"/> acknowledged it in time. A short WAIT waited
    /// for nothing, so its text says why it did not wait instead of "within 0 ms".
    /// </summary>
    public string Shortfall(long acknowledged) => IsFull
        ? $"NOREPLICAS rampart: write reached {acknowledged} of {Replicas} replicas within {TimeoutMs} ms; it may or may not persist"
        : $"NOREPLICAS rampart: write reached {acknowledged} of {Replicas} replicas, short since a WAIT of {_ackTimeoutMs} ms "
          + "(checked again every second); it may or may not persist";

    /// <summary>
    /// True when a durable command's reply waits for the replicas: not an error (Redis refused it), and for EXEC
    /// (<paramref name="exec"/>) not the null array of a transaction a WATCHed key aborted: nothing ran then.
    /// </summary>
    public static bool Holds(ReadOnlySpan<byte> reply, bool exec) =>
        reply[0] != (byte)'-' && !(exec && (reply[0] == (byte)'_' || reply.SequenceEqual("*-1\r\n"u8)));

    /// <summary>A WAIT to send after a batch: it goes in the link's in-flight queue like a request, for no client.</summary>
    public ProxyRequest NewProbe()
    {
        var probe = ProxyRequest.Rent(Nobody);
        probe.AckProbe = this;
        probe.Payload.Write(Command);
        return probe;
    }

    private sealed class NoClient : IReplyOwner
    {
        public bool IsClosed => false;
        public long HeldBytes => 0;
        public long OutputBufferLimit => long.MaxValue;
        public void AccountReply(long bytes) { }
        public void OnRequestCompleted(ProxyRequest? request) { }
        public void WakeFlusher() { }
        public void WakeFlusherAtTurnEnd() { }
        public Task WhenHeldAtMostAsync(long bytes) => Task.CompletedTask;
        public void Close() { }
    }
}
