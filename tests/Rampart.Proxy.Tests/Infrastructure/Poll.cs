namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// The tests' one way to wait for something another thread or process does: check a condition every
/// <see cref="Interval"/> until it holds or the time is up.
/// </summary>
public static class Poll
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits until <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        if (!await TryWaitUntilAsync(condition, timeout)) throw new TimeoutException("condition not reached in time");
    }

    /// <summary>Waits until <paramref name="condition"/> holds: false when it still does not after <paramref name="timeout"/>.</summary>
    public static async Task<bool> TryWaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(Interval);
        }
        return true;
    }

    /// <summary>
    /// The blocking form, for a test that has no async context: false when <paramref name="condition"/> still does not
    /// hold after <paramref name="timeout"/>. An <see cref="IOException"/> from the condition (a process not yet
    /// listening) counts as not yet.
    /// </summary>
    public static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try { if (condition()) return true; } catch (IOException) { }
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(Interval);
        }
    }
}
