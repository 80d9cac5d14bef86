namespace Rampart.Proxy.Clients;

/// <summary>
/// What the pool's sweep (PoolRuntime.CheckClients) needs to know of this client for <c>client_idle_timeout</c> and
/// <c>auth_timeout</c>: plain fields stamped by the read loop, read from the sweep's thread. A stale read costs at
/// most one sweep period, never a wrong close: every stamp only ever moves forward.
/// </summary>
internal sealed partial class ClientSession
{
    /// <summary>The limit a sweep found this client over.</summary>
    public enum TimeLimit
    {
        None,
        Idle,
        Auth,
    }

    /// <summary>
    /// Where the client connects from, for the per-address limits; null for a unix socket client. Computed from the
    /// peer's address when asked (at an AUTH and at the close), not kept.
    /// </summary>
    public SourceAddress? Source => SourceAddress.Of(_remote);

    /// <summary>When the client connected, in the pool's <see cref="TimeProviderExtensions.NowMs"/>.</summary>
    public long ConnectedAtMs { get; }

    // Set once the first complete request was parsed (auth_timeout: a slowloris never gets that far).
    private bool _sentRequest;
    // The last sweep that found the client busy (a reply due, a subscription, a monitor stream): idle time counts from
    // there, as Redis counts it from its last reply to a blocked client rather than from the blocking command.
    private long _busyAtMs;

    /// <summary>
    /// Which timeout, if any, this client has run out of at <paramref name="now"/>. Following Redis's timeout, a client
    /// is never idle while it waits for a reply (a blocking command included), while it is subscribed to a channel,
    /// or while its connection is a MONITOR stream (or relays CLIENT TRACKING invalidations).
    /// </summary>
    public TimeLimit LimitReached(long now, long idleTimeoutMs, long authTimeoutMs)
    {
        if (_closed || _closeAfterReplies) return TimeLimit.None;
        if (authTimeoutMs > 0 && (!IsAuthenticated || !Volatile.Read(ref _sentRequest)) && now - ConnectedAtMs >= authTimeoutMs)
            return TimeLimit.Auth;
        if (idleTimeoutMs == 0) return TimeLimit.None;
        if (HasPendingReplies || KeepsConnectionOpen(Pin))
        {
            _busyAtMs = now;
            return TimeLimit.None;
        }
        long lastActive = Math.Max(LastInteraction, _busyAtMs);
        return now - lastActive >= idleTimeoutMs ? TimeLimit.Idle : TimeLimit.None;
    }

    private static bool KeepsConnectionOpen(Pinning.IClientPin? pin)
    {
        if (pin is null) return false;
        if (pin is Pinning.PassThroughSession) return true;
        var state = pin.Describe();
        return state.Channels + state.Patterns + state.ShardChannels > 0 || state.Blocked;
    }
}
