using System.Diagnostics;
using System.Net;
using Rampart.Protocol;
using Rampart.Proxy.Topology;

namespace Rampart.Proxy.Replicas;

/// <summary>What one ROLE check of a node found: its reply and round-trip time, or why there is none.</summary>
internal readonly record struct RoleAnswer(RespValue? Role, long RoundTripMicros, string? NoAnswer)
{
    public string Kind => Role is { Items.Count: > 0 } role ? role.Items[0].Text ?? "" : "";
}

/// <summary>
/// Asks nodes for ROLE over a kept control connection each (a check every 100 ms must not open a connection every
/// time), each call bounded by a timeout: a replica that stops answering (SIGSTOP, a full network) is found within
/// one check. A failed connection is closed and opened again at the next check.
/// </summary>
internal sealed class RoleProbe(string? user, string? password, TimeProvider time, Security.ServerTlsContext? tls = null) : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(300);

    private readonly Dictionary<string, ControlConnection> _connections = [];
    private readonly Lock _gate = new();

    public async Task<RoleAnswer> AskAsync(EndPoint node, CancellationToken stop)
    {
        string key = node.ToString()!;
        ControlConnection? connection = null;
        try
        {
            lock (_gate) _connections.Remove(key, out connection);
            connection ??= await ControlConnection.ConnectAsync(node, password, Timeout, time, stop, user, tls);
            long started = Stopwatch.GetTimestamp();
            var role = await connection.CallAsync(stop, "ROLE");
            long micros = (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            lock (_gate)
            {
                if (_connections.TryAdd(key, connection)) connection = null; // kept for the next check
            }
            connection?.Dispose();
            if (role.IsError) return new RoleAnswer(null, 0, role.Text);
            return role.Items.Count > 0 ? new RoleAnswer(role, micros, null) : new RoleAnswer(null, 0, "an empty ROLE reply");
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or RespProtocolException)
        {
            connection?.Dispose();
            if (stop.IsCancellationRequested) throw;
            return new RoleAnswer(null, 0, ControlConnection.Describe(e, Timeout));
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var connection in _connections.Values) connection.Dispose();
            _connections.Clear();
        }
    }
}
