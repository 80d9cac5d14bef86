using Microsoft.Extensions.Logging;

namespace Rampart.Proxy.Clients;

/// <summary>
/// One log line per rejected connection, at most one a second per pool: a flood of refused connections (a scan, a
/// misconfigured client in a retry loop) must not flood the log. A line after a quiet spell says how many were
/// rejected without a line of their own. The second is read on the proxy's TimeProvider.
/// </summary>
internal sealed partial class RejectionLog(ILogger logger, TimeProvider time)
{
    private const long IntervalMs = 1000;
    private readonly object _gate = new();
    private long _lastLineTick = long.MinValue / 2;
    private int _unlogged;

    public void Rejected(string pool, string remote, string reason)
    {
        int unlogged;
        lock (_gate)
        {
            long now = time.NowMs();
            if (now - _lastLineTick < IntervalMs)
            {
                _unlogged++;
                return;
            }
            _lastLineTick = now;
            unlogged = _unlogged;
            _unlogged = 0;
        }
        if (unlogged == 0) LogRejected(pool, remote, reason);
        else LogRejectedAfterQuiet(pool, remote, reason, unlogged);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: connection from {Remote} rejected: {Reason}")]
    private partial void LogRejected(string pool, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: connection from {Remote} rejected: {Reason} ({Unlogged} more rejected without a line since the last one)")]
    private partial void LogRejectedAfterQuiet(string pool, string remote, string reason, int unlogged);
}
