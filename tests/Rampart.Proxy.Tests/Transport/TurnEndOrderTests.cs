using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Tests.Transport;

/// <summary>
/// The end of an event loop's turn: server writes (<see cref="EventLoop.AtTurnEnd"/>) run before the reply writes
/// (<see cref="EventLoop.AfterTurnWrites"/>) queued in the same turn, whatever order they were queued in, and work
/// that queues more work in the turn's end still runs in that turn.
/// </summary>
public sealed class TurnEndOrderTests : IDisposable
{
    private readonly EventLoop _loop = new(NullLogger.Instance);

    public void Dispose() => _loop.Dispose();

    private sealed class Recorded(string name, ConcurrentQueue<string> log, Action? then = null) : ITurnWork
    {
        public void OnTurnEnd()
        {
            log.Enqueue(name);
            then?.Invoke();
        }
    }

    [Fact]
    public async Task ReplyWrites_QueuedFirst_StillRunAfterTheServerWritesOfTheirTurn()
    {
        var log = new ConcurrentQueue<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop.Post(() =>
        {
            _loop.AfterTurnWrites(new Recorded("reply 1", log));
            _loop.AtTurnEnd(new Recorded("server 1", log));
            _loop.AfterTurnWrites(new Recorded("reply 2", log, () => done.TrySetResult()));
            _loop.AtTurnEnd(new Recorded("server 2", log));
        });
        await done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["server 1", "server 2", "reply 1", "reply 2"], log.ToArray());
    }

    [Fact]
    public async Task AServerWriteQueuedByAReplyWrite_RunsInTheSameTurnEnd()
    {
        var log = new ConcurrentQueue<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop.Post(() => _loop.AfterTurnWrites(new Recorded("reply", log,
            () => _loop.AtTurnEnd(new Recorded("server", log, () => done.TrySetResult())))));
        await done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["reply", "server"], log.ToArray());
    }
}
