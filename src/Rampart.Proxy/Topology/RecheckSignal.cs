namespace Rampart.Proxy.Topology;

/// <summary>
/// When the Sentinel monitor checks its masters again: at once when asked (a Sentinel event, a reply that suggests the
/// master moved), else once the wait it is given has passed on the injected clock (<c>check_interval</c>, shorter
/// while a shard has no confirmed master: <see cref="NextWaitMs"/>). Requests made while a check runs make one
/// re-check, not one each.
/// </summary>
internal sealed class RecheckSignal(TimeProvider time)
{
    /// <summary>Longest wait for a re-check while some shard has no confirmed master (a stable topology sends no events).</summary>
    public const int UnconfirmedRecheckMs = 500;

    // Never disposed: a server may still ask for a re-check after its monitor stopped (it then asks nobody).
    private readonly SemaphoreSlim _requested = new(0, 1);

    /// <summary>The wait before the next check: <c>check_interval</c>, or at most 500 ms while a shard has no master.</summary>
    public static int NextWaitMs(int checkIntervalMs, bool anyUnconfirmed) =>
        anyUnconfirmed ? Math.Min(checkIntervalMs, UnconfirmedRecheckMs) : checkIntervalMs;

    /// <summary>Asks for a re-check now.</summary>
    public void Request()
    {
        try { _requested.Release(); } catch (SemaphoreFullException) { } // one pending re-check is enough
    }

    /// <summary>
    /// Completes when a re-check is asked for (true) or <paramref name="wait"/> has passed (false); throws
    /// <see cref="OperationCanceledException"/> once <paramref name="stop"/> is cancelled.
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan wait, CancellationToken stop)
    {
        using var elapsed = new CancellationTokenSource(wait, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stop, elapsed.Token);
        var requested = _requested.WaitAsync(either.Token);
        // A wait that ran out is the usual case, not an error: no exception for it.
        await requested.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        stop.ThrowIfCancellationRequested();
        return requested.IsCompletedSuccessfully;
    }
}
