using Microsoft.Extensions.Logging;

namespace Rampart.Proxy.Clients;

/// <summary>
/// One log line per client a limit acted on (a connection rejected at accept, a client closed by a timeout or for an
/// oversized request, an AUTH throttled), at most one a second per pool and kind: a flood (a scan, a slowloris, a
/// brute-force loop, a misconfigured client retrying) must not flood the log. A line after a quiet spell says how
/// many of its kind had no line of their own. The second is read on the proxy's TimeProvider.
/// </summary>
internal sealed partial class RejectionLog(ILogger logger, TimeProvider time)
{
    private const long IntervalMs = 1000;

    /// <summary>One kind's rate limit: whether this event gets a line, and how many before it had none.</summary>
    private sealed class Window
    {
        private readonly Lock _gate = new();
        private long _lastLineTick = long.MinValue / 2;
        private int _unlogged;

        public bool TryTakeLine(long now, out int unlogged)
        {
            lock (_gate)
            {
                unlogged = 0;
                if (now - _lastLineTick < IntervalMs)
                {
                    _unlogged++;
                    return false;
                }
                _lastLineTick = now;
                unlogged = _unlogged;
                _unlogged = 0;
                return true;
            }
        }
    }

    private readonly Window _rejected = new();
    private readonly Window _closed = new();
    private readonly Window _throttled = new();

    public void Rejected(string pool, string remote, string reason)
    {
        if (!_rejected.TryTakeLine(time.NowMs(), out int unlogged)) return;
        if (unlogged == 0) LogRejected(pool, remote, reason);
        else LogRejectedAfterQuiet(pool, remote, reason, unlogged);
    }

    /// <summary>A client closed by a limit (<c>client_idle_timeout</c>, <c>auth_timeout</c>, <c>max_request_size</c>).</summary>
    public void Closed(string pool, string remote, string reason)
    {
        if (!_closed.TryTakeLine(time.NowMs(), out int unlogged)) return;
        if (unlogged == 0) LogClosed(pool, remote, reason);
        else LogClosedAfterQuiet(pool, remote, reason, unlogged);
    }

    /// <summary>A wrong password: the address's consecutive failures and how long its next AUTH waits.</summary>
    public void AuthFailed(string pool, string source, int failures, long delayMs)
    {
        if (!_throttled.TryTakeLine(time.NowMs(), out int unlogged)) return;
        if (failures == 0) LogAuthFailedUnthrottled(pool, source, unlogged); // auth_throttle is off
        else LogAuthFailed(pool, source, failures, delayMs, unlogged);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: connection from {Remote} rejected: {Reason}")]
    private partial void LogRejected(string pool, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: connection from {Remote} rejected: {Reason} ({Unlogged} more rejected without a line since the last one)")]
    private partial void LogRejectedAfterQuiet(string pool, string remote, string reason, int unlogged);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: client {Remote} closed: {Reason}")]
    private partial void LogClosed(string pool, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: client {Remote} closed: {Reason} ({Unlogged} more closed by a limit without a line since the last one)")]
    private partial void LogClosedAfterQuiet(string pool, string remote, string reason, int unlogged);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: wrong password from {Source} ({Failures} in a row); its next AUTH waits {DelayMs} ms ({Unlogged} more failures without a line since the last one)")]
    private partial void LogAuthFailed(string pool, string source, int failures, long delayMs, int unlogged);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: wrong password from {Source} ({Unlogged} more failures without a line since the last one)")]
    private partial void LogAuthFailedUnthrottled(string pool, string source, int unlogged);
}
