namespace Rampart.Proxy.Backends;

/// <summary>
/// Counters of one server, updated with interlocked adds (batched per write or read where the path allows), read by
/// the stats endpoints. The names follow twemproxy's server stats (nc_stats.h), which the stats port reports.
/// </summary>
internal sealed class ServerStats
{
    private long _requests;
    private long _requestBytes;
    private long _responses;
    private long _responseBytes;
    private long _timeouts;
    private long _errors;
    private long _eofs;
    private long _forwardErrors;
    private long _ejectedAtMicros;
    private int _connections;
    private long _connectionsOpened;
    private long _moved;
    private long _asked;
    private long _ackedWrites;
    private long _failedRequests;
    private long _ackShortfalls;

    /// <summary>Requests written to the server (twemproxy's <c>requests</c>).</summary>
    public long Requests => Volatile.Read(ref _requests);
    public long RequestBytes => Volatile.Read(ref _requestBytes);
    public long Responses => Volatile.Read(ref _responses);
    public long ResponseBytes => Volatile.Read(ref _responseBytes);
    public long Timeouts => Volatile.Read(ref _timeouts);
    /// <summary>Failed connects, socket errors and protocol errors on this server's connections (<c>server_err</c>).</summary>
    public long Errors => Volatile.Read(ref _errors);
    /// <summary>Connections the server closed (<c>server_eof</c>).</summary>
    public long Eofs => Volatile.Read(ref _eofs);
    /// <summary>Requests failed without being written because the server could not be reached (the pool's <c>forward_error</c>).</summary>
    public long ForwardErrors => Volatile.Read(ref _forwardErrors);
    /// <summary>When the server was last ejected, in microseconds since the epoch; 0 if never (<c>server_ejected_at</c>).</summary>
    public long EjectedAtMicros => Volatile.Read(ref _ejectedAtMicros);
    public int Connections => Volatile.Read(ref _connections);
    /// <summary>Connections opened since start (part of the stats port's <c>total_connections</c>).</summary>
    public long ConnectionsOpened => Volatile.Read(ref _connectionsOpened);

    /// <summary>Cluster pools: -MOVED replies from this node, each followed to the node it named.</summary>
    public long Moved => Volatile.Read(ref _moved);
    /// <summary>Cluster pools: -ASK replies from this node (a slot migrating away), each followed once with ASKING.</summary>
    public long Asked => Volatile.Read(ref _asked);
    public void AddMoved() => Interlocked.Increment(ref _moved);
    public void AddAsked() => Interlocked.Increment(ref _asked);

    /// <summary>
    /// Requests that failed because of the server, with no reply from it: unreachable, connection lost, timeout. Server
    /// trouble, an operator's incident, unlike the error replies a client's own command caused (WRONGTYPE and the like).
    /// </summary>
    public long FailedRequests => Volatile.Read(ref _failedRequests);
    public void AddFailedRequest() => Interlocked.Increment(ref _failedRequests);

    /// <summary>Durable writes (<c>min_replicas_ack</c>) held until a WAIT answered.</summary>
    public long AckedWrites => Volatile.Read(ref _ackedWrites);
    public void AddAckedWrites(int count) => Interlocked.Add(ref _ackedWrites, count);

    /// <summary>WAITs that answered with fewer replicas than <c>min_replicas_ack</c> (their writes got NOREPLICAS).</summary>
    public long AckShortfalls => Volatile.Read(ref _ackShortfalls);
    public void AddAckShortfall() => Interlocked.Increment(ref _ackShortfalls);

    public void AddSent(long bytes) => Interlocked.Add(ref _requestBytes, bytes);
    public void AddRequests(int count) => Interlocked.Add(ref _requests, count);
    public void AddReceived(int bytes) => Interlocked.Add(ref _responseBytes, bytes);
    public void AddResponses(int count) => Interlocked.Add(ref _responses, count);
    public void AddTimeout() => Interlocked.Increment(ref _timeouts);
    public void AddError() => Interlocked.Increment(ref _errors);
    public void AddEof() => Interlocked.Increment(ref _eofs);
    public void AddForwardError() => Interlocked.Increment(ref _forwardErrors);
    public void MarkEjected() => Volatile.Write(ref _ejectedAtMicros, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000);
    public void ConnectionOpened()
    {
        Interlocked.Increment(ref _connections);
        Interlocked.Increment(ref _connectionsOpened);
    }
    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);
}
