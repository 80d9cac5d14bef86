namespace Rampart.Proxy.Backends;

/// <summary>
/// Whom a request's reply is for, as the server side sees it: a server connection completes requests through this,
/// never knowing the client type behind it (Clients.ClientSession implements it), as StackExchange.Redis's physical
/// connection completes a Message without knowing who waits for it. Dependencies point one way: Clients and Commands
/// use Backends, Backends uses neither.
/// </summary>
internal interface IReplyOwner
{
    /// <summary>True once the client is gone: what it queued need not reach a server.</summary>
    bool IsClosed { get; }

    /// <summary>Bytes the client holds now (unread replies, queued requests).</summary>
    long HeldBytes { get; }

    /// <summary>The most a large reply may run ahead of the client's reading (half its client_output_buffer, at most a window).</summary>
    long OutputBufferLimit { get; }

    /// <summary>Counts reply bytes not yet written to the client (over its limit, the client is closed).</summary>
    void AccountReply(long bytes);

    /// <summary>A request was completed (locally or by its last part): count it and wake the writer.</summary>
    void OnRequestCompleted(ProxyRequest? request);

    /// <summary>Wakes the client's writer, at once, to send what is completed (dedicated connections, local replies).</summary>
    void WakeFlusher();

    /// <summary>
    /// A server read completed some of the client's replies: like <see cref="WakeFlusher"/>, but on the client's own
    /// event loop the write waits for the end of the turn, after the turn's server writes, so that what other servers'
    /// reads complete in the same turn (a pipeline spread over a cluster's nodes or a pool's shards) leaves in the same
    /// write, and the servers already work on the turn's requests meanwhile.
    /// </summary>
    void WakeFlusherAtTurnEnd();

    /// <summary>Completes when the client holds at most <paramref name="bytes"/> (it read enough of a large reply).</summary>
    Task WhenHeldAtMostAsync(long bytes);

    /// <summary>Closes the client (its reply was cut off mid-way: nothing else can follow it).</summary>
    void Close();
}

/// <summary>
/// A request whose reply is merged from the replies of parts sent to several servers (Commands.MultiKeyRequest): a
/// part's completion goes here, and the whole is handed on once the last part is in.
/// </summary>
internal interface IReplyGatherer
{
    /// <summary>One more part completed: the merged request when it was the last, else null.</summary>
    ProxyRequest? ChildCompleted();
}
