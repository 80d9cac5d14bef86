using Rampart.Protocol;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Pools;

/// <summary>
/// The pool's limits against abuse: connections per source address, the request size bound, the timeouts that close
/// idle and never-authenticated clients, and the AUTH throttle's accounting. The timeouts are enforced by one sweep
/// over the pool's sessions from the proxy's maintenance timer, reading each session's last-activity stamp: no timer,
/// task or state machine per connection, and nothing at all when both timeouts are off.
/// </summary>
internal sealed partial class PoolRuntime
{
    private readonly ConnectionsPerAddress _perAddress = new();
    private readonly ClientLimitCounters _limitCounters = new();
    private volatile RespLimits _limits;
    private long _lastClientSweepMs = long.MinValue / 2;

    /// <summary>The bounds on what a client may send; a reload's new max_request_size applies to every session from its next read.</summary>
    public RespLimits Limits => _limits;

    /// <summary>Failed AUTHs per source address, shared by every pool of the proxy.</summary>
    public AuthThrottle AuthThrottle { get; }

    /// <summary>What the limits did since start, for the stats, /metrics and the dashboard.</summary>
    public Observability.ClientLimitSnapshot ClientLimitCounts => _limitCounters.Snapshot();

    /// <summary>Open client connections from <paramref name="source"/> (tests, diagnostics).</summary>
    internal int ConnectionsFrom(SourceAddress source) => _perAddress.CountOf(source);

    private static RespLimits LimitsFor(PoolConfig config) =>
        config.MaxRequestSize is { } max ? RespLimits.ForMaxRequestSize(max) : RespLimits.Default;

    /// <summary>A reload: the request size bound follows the new config (the rest is read from the config itself).</summary>
    private void ApplyClientLimits(PoolConfig next)
    {
        if (_limits.MaxRequestLength != (next.MaxRequestSize ?? long.MaxValue)) _limits = LimitsFor(next);
    }

    /// <summary>An admitted connection could not start after all: its slots go back.</summary>
    public void CancelAdmission(SourceAddress? source)
    {
        _budget.Release();
        if (source is { } address) _perAddress.Release(address);
    }

    /// <summary>A client's request went over max_request_size: counted and logged (the session answers and closes).</summary>
    public void CountRequestTooLarge(ClientSession session, string reason)
    {
        _limitCounters.RequestTooLarge();
        _rejections.Closed(Config.Name, session.RemoteEndPoint, reason);
    }

    /// <summary>An AUTH waits for its address's throttle.</summary>
    public void CountAuthDelayed() => _limitCounters.AuthDelayed();

    /// <summary>An AUTH or HELLO AUTH with a wrong password: counted, logged, and the address's next attempt delayed.</summary>
    public void AuthFailed(ClientSession session)
    {
        _limitCounters.AuthFailed();
        var (failures, delay) = AuthThrottle.Failed(session.Source, Time.NowMs());
        _rejections.AuthFailed(Config.Name, session.Source?.ToString() ?? session.RemoteEndPoint, failures, delay);
    }

    /// <summary>An AUTH with the right password: its address's failures are forgotten.</summary>
    public void AuthSucceeded(ClientSession session) => AuthThrottle.Succeeded(session.Source);

    /// <summary>
    /// The sweep of <c>client_idle_timeout</c> and <c>auth_timeout</c>: a pass over the sessions every tenth of the shorter
    /// timeout (at most every 250 ms, at least every 10 ms), so a client is closed within a tenth of its timeout
    /// after it ran out (plus one maintenance tick).
    /// </summary>
    public void CheckClients(long now)
    {
        var config = _config;
        long idle = config.ClientIdleTimeoutMs, auth = config.AuthTimeoutMs;
        if (idle == 0 && auth == 0) return;
        long shortest = idle == 0 ? auth : auth == 0 ? idle : Math.Min(idle, auth);
        if (now - _lastClientSweepMs < Math.Clamp(shortest / 10, 10, 250)) return;
        _lastClientSweepMs = now;
        foreach (var session in _sessions.Values)
        {
            switch (session.LimitReached(now, idle, auth))
            {
                case ClientSession.TimeLimit.Idle:
                    session.Close(); // Redis closes an idle client without a word
                    _limitCounters.IdleClosed();
                    _rejections.Closed(config.Name, session.RemoteEndPoint, $"idle for more than client_idle_timeout ({idle} ms)");
                    break;
                case ClientSession.TimeLimit.Auth:
                    session.Close();
                    _limitCounters.AuthTimeoutClosed();
                    _rejections.Closed(config.Name, session.RemoteEndPoint,
                        $"{(session.IsAuthenticated ? "no complete request" : "not authenticated")} within auth_timeout ({auth} ms)");
                    break;
            }
        }
    }
}
