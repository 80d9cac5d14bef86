namespace Rampart.Proxy.Backends;

/// <summary>
/// Orders replica checks against clients' writes, for read-your-writes without timestamps. Each check of a master's
/// replicas takes the next generation before it asks the master for its replication offset; a replica that has
/// reached that offset is "confirmed" for the generation. A write whose reply came before generation N was taken is
/// inside that offset, so a client whose last write was answered when the clock read N-1 may read from replicas
/// confirmed for N or later, and from no other.
/// </summary>
internal static class ReplicationClock
{
    private static long _generation;

    /// <summary>The generation of the latest check started.</summary>
    public static long Current => Volatile.Read(ref _generation);

    /// <summary>Starts a check: call before asking the master for its offset.</summary>
    public static long Next() => Interlocked.Increment(ref _generation);
}
