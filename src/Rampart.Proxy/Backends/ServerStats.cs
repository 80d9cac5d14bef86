namespace Rampart.Proxy.Backends;

/// <summary>Counters of one server, updated with interlocked adds, read by the stats endpoints.</summary>
internal sealed class ServerStats
{
    private long _requestBytes;
    private long _responses;
    private long _responseBytes;
    private long _timeouts;
    private long _errors;
    private int _connections;

    public long RequestBytes => Volatile.Read(ref _requestBytes);
    public long Responses => Volatile.Read(ref _responses);
    public long ResponseBytes => Volatile.Read(ref _responseBytes);
    public long Timeouts => Volatile.Read(ref _timeouts);
    public long Errors => Volatile.Read(ref _errors);
    public int Connections => Volatile.Read(ref _connections);

    public void AddSent(int bytes) => Interlocked.Add(ref _requestBytes, bytes);
    public void AddReceived(int bytes) => Interlocked.Add(ref _responseBytes, bytes);
    public void AddResponses(int count) => Interlocked.Add(ref _responses, count);
    public void AddTimeout() => Interlocked.Increment(ref _timeouts);
    public void AddError() => Interlocked.Increment(ref _errors);
    public void ConnectionOpened() => Interlocked.Increment(ref _connections);
    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);
}
