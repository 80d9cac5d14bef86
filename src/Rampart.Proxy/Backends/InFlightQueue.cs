namespace Rampart.Proxy.Backends;

/// <summary>
/// The FIFO of a server link's requests written and awaiting replies. One producer at a time (the writer), one
/// consumer (the reader), and an observer that only reads the oldest request's send time (the timeout sweep).
/// A slot is cleared the moment its request is taken, so the queue never keeps a finished request reachable, nor
/// through it a client session that has gone. (ConcurrentQueue stops clearing a segment's slots once TryPeek has
/// looked at it, which kept the last request of closed clients, and their buffers, alive on pools with a timeout.)
/// </summary>
/// <remarks>
/// A ring that fills is not resized in place: the producer moves on to a ring twice as large and links it, and the
/// consumer follows once it has emptied the old one. Rings only grow, so after the first bursts nothing is allocated.
/// </remarks>
internal sealed class InFlightQueue
{
    private const int FirstCapacity = 64;

    private sealed class Ring(int capacity)
    {
        public readonly ProxyRequest?[] Slots = new ProxyRequest?[capacity];
        public readonly int Mask = capacity - 1;
        /// <summary>The next slot to take; written by the consumer only.</summary>
        public long Head;
        /// <summary>The next slot to fill; written by the producer only.</summary>
        public long Tail;
        /// <summary>The producer's next ring, linked after its last write to this one.</summary>
        public Ring? Next;
    }

    private Ring _producer;
    private Ring _consumer;

    public InFlightQueue() => _producer = _consumer = new Ring(FirstCapacity);

    /// <summary>Producer only. <see cref="ProxyRequest.SentTick"/> must be set before, for the observer.</summary>
    public void Enqueue(ProxyRequest request)
    {
        var ring = _producer;
        long tail = ring.Tail;
        if (tail - Volatile.Read(ref ring.Head) == ring.Slots.Length)
        {
            var bigger = new Ring(ring.Slots.Length * 2);
            bigger.Slots[0] = request;
            bigger.Tail = 1;
            Volatile.Write(ref ring.Next, bigger);
            _producer = bigger;
            return;
        }
        ring.Slots[tail & ring.Mask] = request;
        Volatile.Write(ref ring.Tail, tail + 1);
    }

    /// <summary>Consumer only: takes the oldest request, clearing its slot.</summary>
    public bool TryDequeue(out ProxyRequest request)
    {
        var ring = OldestRing();
        if (ring is null)
        {
            request = null!;
            return false;
        }
        long head = ring.Head;
        ref var slot = ref ring.Slots[head & ring.Mask];
        request = slot!;
        slot = null;
        Volatile.Write(ref ring.Head, head + 1);
        return true;
    }

    /// <summary>Consumer only: the oldest request, left in the queue.</summary>
    public bool TryPeek(out ProxyRequest request)
    {
        var ring = OldestRing();
        request = ring is null ? null! : ring.Slots[ring.Head & ring.Mask]!;
        return ring is not null;
    }

    // Consumer only: the ring holding the oldest request (moving on to the producer's next ring when this one is
    // done), or null when the queue is empty.
    private Ring? OldestRing()
    {
        var ring = _consumer;
        while (true)
        {
            if (ring.Head < Volatile.Read(ref ring.Tail)) return ring;
            var next = Volatile.Read(ref ring.Next);
            if (next is null) return null;
            // The producer linked the next ring after its last write here: look once more, then move on.
            if (ring.Head < Volatile.Read(ref ring.Tail)) return ring;
            ring = next;
            Volatile.Write(ref _consumer, ring);
        }
    }

    /// <summary>
    /// Any thread: the send time of the oldest request still waiting, if there is one. A request taken while it looks
    /// is not reported, so the answer is never older than the truth (a timeout is never raised for a reply that came).
    /// </summary>
    public bool TryGetOldestSentTick(out long sentTick)
    {
        sentTick = 0;
        var ring = Volatile.Read(ref _consumer);
        long head = Volatile.Read(ref ring.Head);
        if (head >= Volatile.Read(ref ring.Tail))
        {
            // Empty here; the oldest may be the first of the next ring, which the consumer has not moved to yet.
            if (Volatile.Read(ref ring.Next) is not { } next || head < Volatile.Read(ref ring.Tail)) return false;
            ring = next;
            head = Volatile.Read(ref ring.Head);
            if (head >= Volatile.Read(ref ring.Tail)) return false;
        }
        var request = Volatile.Read(ref ring.Slots[head & ring.Mask]);
        if (request is null) return false;
        sentTick = request.SentTick;
        // Still there after the read: the time read is the oldest request's, not a later one's that took its slot.
        return Volatile.Read(ref ring.Head) == head;
    }
}
