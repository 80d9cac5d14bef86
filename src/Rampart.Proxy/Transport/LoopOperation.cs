using System.Threading.Tasks.Sources;

namespace Rampart.Proxy.Transport;

/// <summary>
/// One reusable awaitable for a socket's pending read (its result: the bytes read) or pending wait for room to write.
/// Continuations run on the thread that completes it, the event loop, as System.Net.Sockets does with inline
/// completions: a proxy's work per event is shorter than a hop to the thread pool.
/// </summary>
internal sealed class LoopOperation : IValueTaskSource<int>, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<int> _core;

    /// <summary>Readies the operation for a new await and returns the token of that await.</summary>
    public short Prepare()
    {
        _core.Reset();
        return _core.Version;
    }

    public void Succeed(int result) => _core.SetResult(result);
    public void Fail(Exception error) => _core.SetException(error);

    public int GetResult(short token) => _core.GetResult(token);
    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);
    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
