using System.Text.Json;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Pools;

namespace Rampart.Proxy.Observability;

/// <summary>
/// The JSON document twemproxy (nutcracker 0.5.0) serves on its stats port, built from Rampart's live counters, with
/// the same field names, nesting, value types and field order (nc_stats.c, nc_stats.h): a header of scalars, then
/// one object per pool holding the pool's counters followed by one object per server, keyed by the server's name
/// (the name given on its <c>servers:</c> line, else "host:port"), holding the server's counters.
/// Collectors (telegraf, Diamond, the New Relic and munin plugins, exporters) treat every object under the root as a
/// pool and every object under a pool as a server, so nothing but scalars is ever added at those levels.
/// Written with <see cref="Utf8JsonWriter"/> (no reflection: AOT-safe) on one line, ending with a newline as
/// nutcracker's does, for collectors that read one line.
/// </summary>
public static class TwemproxyStats
{
    /// <summary>Pool fields in nutcracker's order, with its descriptions (<c>nutcracker --describe-stats</c>).</summary>
    public static readonly (string Name, string Description)[] PoolFields =
    [
        ("client_eof", "# eof on client connections"),
        ("client_err", "# errors on client connections"),
        ("client_connections", "# active client connections"),
        ("server_ejects", "# times backend server was ejected"),
        ("forward_error", "# times we encountered a forwarding error"),
        ("fragments", "# fragments created from a multi-vector request"),
    ];

    /// <summary>Server fields in nutcracker's order, with its descriptions.</summary>
    public static readonly (string Name, string Description)[] ServerFields =
    [
        ("server_eof", "# eof on server connections"),
        ("server_err", "# errors on server connections"),
        ("server_timedout", "# timeouts on server connections"),
        ("server_connections", "# active server connections"),
        ("server_ejected_at", "timestamp when server was ejected in usec since epoch"),
        ("requests", "# requests"),
        ("request_bytes", "total request bytes"),
        ("responses", "# responses"),
        ("response_bytes", "total response bytes"),
        ("in_queue", "# requests in incoming queue"),
        ("in_queue_bytes", "current request bytes in incoming queue"),
        ("out_queue", "# requests in outgoing queue"),
        ("out_queue_bytes", "current request bytes in outgoing queue"),
    ];

    public const string Service = "rampart";

    /// <summary>Rampart's version as three numbers, like nutcracker's "0.5.0".</summary>
    public static string Version { get; } = FormatVersion(typeof(TwemproxyStats).Assembly.GetName().Version);

    /// <summary>The host name, nutcracker's <c>source</c>.</summary>
    public static string Source { get; } = SafeHostName();

    internal static void Write(Utf8JsonWriter json, DateTimeOffset startedAt, IReadOnlyList<PoolRuntime> pools, int listeners)
    {
        var now = DateTimeOffset.UtcNow;
        long totalConnections = listeners, currentConnections = listeners;
        foreach (var pool in pools)
        {
            totalConnections += pool.TotalConnections;
            currentConnections += pool.CurrentConnections;
            foreach (var server in pool.Routing.Servers)
            {
                totalConnections += server.Stats.ConnectionsOpened;
                currentConnections += server.Stats.Connections;
            }
        }

        json.WriteStartObject();
        json.WriteString("service", Service);
        json.WriteString("source", Source);
        json.WriteString("version", Version);
        json.WriteNumber("uptime", Math.Max(0, now.ToUnixTimeSeconds() - startedAt.ToUnixTimeSeconds()));
        json.WriteNumber("timestamp", now.ToUnixTimeSeconds());
        json.WriteNumber("total_connections", totalConnections);
        json.WriteNumber("curr_connections", currentConnections);
        foreach (var pool in pools) WritePool(json, pool);
        json.WriteEndObject();
    }

    private static void WritePool(Utf8JsonWriter json, PoolRuntime pool)
    {
        json.WriteStartObject(pool.Config.Name);
        json.WriteNumber("client_eof", pool.ClientEofs);
        json.WriteNumber("client_err", pool.ClientErrors);
        json.WriteNumber("client_connections", pool.CurrentConnections);
        json.WriteNumber("server_ejects", pool.ServerEjects);
        json.WriteNumber("forward_error", pool.ForwardErrors);
        json.WriteNumber("fragments", pool.Fragments);
        foreach (var server in pool.Routing.Servers) WriteServer(json, server);
        json.WriteEndObject();
    }

    private static void WriteServer(Utf8JsonWriter json, ServerEndpoint server)
    {
        var stats = server.Stats;
        long inQueue = 0, inQueueBytes = 0, outQueue = 0, outQueueBytes = 0;
        foreach (var connection in server.AllConnections)
        {
            inQueue += connection.QueuedCount;
            inQueueBytes += connection.QueuedBytes;
            if (connection.Link is { } link)
            {
                outQueue += link.InFlightCount;
                outQueueBytes += link.InFlightBytes;
            }
        }
        json.WriteStartObject(NameOf(server));
        json.WriteNumber("server_eof", stats.Eofs);
        json.WriteNumber("server_err", stats.Errors);
        json.WriteNumber("server_timedout", stats.Timeouts);
        json.WriteNumber("server_connections", stats.Connections);
        json.WriteNumber("server_ejected_at", stats.EjectedAtMicros);
        json.WriteNumber("requests", stats.Requests);
        json.WriteNumber("request_bytes", stats.RequestBytes);
        json.WriteNumber("responses", stats.Responses);
        json.WriteNumber("response_bytes", stats.ResponseBytes);
        json.WriteNumber("in_queue", Math.Max(0, inQueue));
        json.WriteNumber("in_queue_bytes", Math.Max(0, inQueueBytes));
        json.WriteNumber("out_queue", Math.Max(0, outQueue));
        json.WriteNumber("out_queue_bytes", Math.Max(0, outQueueBytes));
        if (server.Pool.Sentinel is not null)
        {
            // Rampart's own, for Sentinel pools only (plain pools keep twemproxy's exact fields); all numbers, so
            // collectors that read every numeric field of a server keep working.
            var replicas = server.Replicas;
            json.WriteNumber("master_confirmed", server.Address is null ? 0 : 1);
            json.WriteNumber("replicas", replicas.Connected.Count);
            json.WriteNumber("replicas_known", replicas.Known);
            json.WriteNumber("replication_lag_max_bytes", replicas.MaxLagBytes);
            json.WriteNumber("pinned_connections", server.Pinned.Open);
            json.WriteNumber("pinned_idle", server.Pinned.Idle);
            json.WriteNumber("pubsub_resubscribes", server.Pinned.Resubscribes);
        }
        json.WriteEndObject();
    }

    /// <summary>nutcracker's server name: the configured name, else the address as written ("host:port").</summary>
    internal static string NameOf(ServerEndpoint server) => server.Config.Name ?? server.Config.Endpoint;

    /// <summary>The lines <c>nutcracker --describe-stats</c> prints (after its banner).</summary>
    public static IEnumerable<string> Describe()
    {
        yield return "pool stats:";
        foreach (var (name, description) in PoolFields) yield return $"  {name,-20}\"{description}\"";
        yield return "";
        yield return "server stats:";
        foreach (var (name, description) in ServerFields) yield return $"  {name,-20}\"{description}\"";
    }

    private static string FormatVersion(Version? version) =>
        version is null ? "0.0.0" : $"{version.Major}.{version.Minor}.{Math.Max(0, version.Build)}";

    private static string SafeHostName()
    {
        // gethostname(), as nutcracker's source (Environment.MachineName would cut at the first dot).
        try { return System.Net.Dns.GetHostName(); }
        catch (System.Net.Sockets.SocketException) { return "unknown"; }
    }
}
