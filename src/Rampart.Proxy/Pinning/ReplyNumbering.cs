namespace Rampart.Proxy.Pinning;

/// <summary>
/// A subscriber's replies (not pushes) numbered in the order their requests were relayed, so that those of requests
/// sent under CLIENT REPLY OFF/SKIP can be left out of the relay, as Redis drops them, while every push still goes
/// through (Redis sends those whatever the reply mode). Replies come back in the order requests were sent, so the n-th
/// reply answered (or lost) is the n-th expected.
/// </summary>
/// <remarks>Not thread-safe: used under the owning session's lock.</remarks>
internal sealed class ReplyNumbering
{
    // due: the last reply numbered; done: the last one answered or lost.
    private long _due;
    private long _done;
    // The numbers of replies due whose requests were sent while replies were off, oldest first.
    private Queue<long>? _silent;

    /// <summary>A request that gets one reply was relayed; <paramref name="silent"/>: the client asked not to see it.</summary>
    public void Expect(bool silent)
    {
        _due++;
        if (silent) (_silent ??= new Queue<long>()).Enqueue(_due);
    }

    /// <summary>The next reply is answered (or lost); true when its request was sent while replies were off.</summary>
    public bool Answer()
    {
        _done++;
        if (_silent is not { } silent) return false;
        while (silent.Count > 0 && silent.Peek() < _done) silent.Dequeue();
        if (silent.Count == 0 || silent.Peek() != _done) return false;
        silent.Dequeue();
        return true;
    }
}
