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

    private WriteAcks(int replicas, int timeoutMs)
    {
        Replicas = replicas;
        TimeoutMs = timeoutMs;
        Command = Encoding.ASCII.GetBytes($"*3\r\n$4\r\nWAIT\r\n${Digits(replicas)}\r\n{replicas}\r\n${Digits(timeoutMs)}\r\n{timeoutMs}\r\n");
    }

    public int Replicas { get; }
    public int TimeoutMs { get; }
    /// <summary>The WAIT command's bytes.</summary>
    public byte[] Command { get; }

    private static int Digits(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture).Length;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, int), WriteAcks> Made = new();

    /// <summary>The WAIT for these settings (one object per settings, shared by every connection).</summary>
    public static WriteAcks For(int replicas, int timeoutMs) => Made.GetOrAdd((replicas, timeoutMs), k => new WriteAcks(k.Item1, k.Item2));

    /// <summary>
    /// While a server's replicas are short (its last full WAIT came back with fewer than asked), its WAITs wait this
    /// long instead of <c>ack_timeout</c>: each WAIT holds its connection for as long as it waits, so with a replica
    /// down every batch would hold the writers' lane for the whole timeout, and their writes would queue behind one
    /// another until the pool's <c>timeout</c> failed them. They get NOREPLICAS at once instead; a full WAIT is tried
    /// again every <see cref="ShortRecheckMs"/>, and one that gets enough replicas ends the short state.
    /// </summary>
    public const int ShortWaitMs = 1;

    /// <summary>How long a server stays "short" before a batch waits the full <c>ack_timeout</c> again.</summary>
    public const int ShortRecheckMs = 1000;

    /// <summary>The error a held write gets when fewer than <see cref="Replicas"/> acknowledged it in time.</summary>
    public string Shortfall(long acknowledged) =>
        $"NOREPLICAS rampart: write reached {acknowledged} of {Replicas} replicas within {TimeoutMs} ms; it may or may not persist";

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
        public void AccountReply(int bytes) { }
        public void OnRequestCompleted(ProxyRequest? request) { }
        public void WakeFlusher() { }
        public Task WhenHeldAtMostAsync(long bytes) => Task.CompletedTask;
        public void Close() { }
    }
}
