namespace Rampart.Proxy.Backends;

/// <summary>
/// A wait that doubles with each failure in a row, from <see cref="FirstMs"/> up to a ceiling of <see cref="MaxMs"/>:
/// how long a server, a warm dedicated connection, a Sentinel's event stream or a subscriber waits before trying again.
/// Pure: the caller counts the failures and reads the clock.
/// </summary>
internal readonly record struct Backoff(int FirstMs, int MaxMs)
{
    /// <summary>Reconnecting to a server (shared and warm dedicated connections): 100 ms doubling to 5 s.</summary>
    public static Backoff Reconnect { get; } = new(100, 5_000);

    /// <summary>The wait after the <paramref name="failures"/>-th failure in a row (the first waits <see cref="FirstMs"/>).</summary>
    public int DelayMs(int failures) => (int)Math.Min(MaxMs, (long)FirstMs << Math.Clamp(failures - 1, 0, 16));
}
