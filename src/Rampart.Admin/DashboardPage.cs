using System.Globalization;
using System.Net;
using System.Text;
using Rampart.Proxy.Observability;

namespace Rampart.Admin;

/// <summary>
/// The dashboard at <c>/</c>: one self-contained HTML page (no script, no external file) that reloads itself every
/// <see cref="RefreshSeconds"/> seconds. Rates and percentiles cover the last few seconds (the snapshot history);
/// counts are since start. Elements carry data-pool, data-backend and data-field attributes so tools and the
/// browser test can read values without depending on the layout.
/// </summary>
internal static class DashboardPage
{
    public const int RefreshSeconds = 2;
    private const int EventsShown = 20;

    public static string Render(ProxySnapshot now, ProxySnapshot? then, List<string> problems, TopologyEvent[] events, DateTimeOffset startedAt)
    {
        double seconds = Window.Seconds(now, then);
        var html = new StringBuilder(8192);
        html.Append($"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{RefreshSeconds}">
            <title>Rampart</title>
            <style>
            body{"{"}font:14px system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa{"}"}
            h1{"{"}margin:0 0 .2em{"}"} h2{"{"}margin:1.2em 0 .3em;font-size:1.2em{"}"}
            table{"{"}border-collapse:collapse;margin:.3em 0 1em;background:#fff{"}"}
            th,td{"{"}border:1px solid #ddd;padding:.25em .6em;text-align:left{"}"} th{"{"}background:#f0f0f0{"}"}
            td.n{"{"}text-align:right;font-variant-numeric:tabular-nums{"}"}
            .up{"{"}color:#176f2c;font-weight:600{"}"} .down{"{"}color:#b00020;font-weight:600{"}"}
            .ejected,.failover{"{"}color:#a35f00;font-weight:600{"}"} .replica td:first-child{"{"}padding-left:1.8em{"}"}
            .meta{"{"}color:#555{"}"} .ready{"{"}color:#176f2c{"}"} .notready{"{"}color:#b00020{"}"} code{"{"}font-size:.95em{"}"}
            </style></head><body>
            <h1>Rampart</h1>
            <p class="meta">version {E(TwemproxyStats.Version)} · up {Duration(now.Time - startedAt)} · {now.Pools.Length} pool(s), {now.Pools.Length} listener(s) ·
            <span data-field="clients-total">{now.Pools.Sum(p => p.Clients)}</span> client(s) · refreshed {now.Time:HH:mm:ss} UTC every {RefreshSeconds} s
            · rates over the last {(seconds > 0 ? seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "(first sample pending)")}</p>

            """);
        if (problems.Count == 0) html.Append("<p class=\"ready\" data-field=\"ready\">Ready: every pool has a usable backend.</p>\n");
        else
        {
            html.Append("<div class=\"notready\" data-field=\"ready\"><b>Not ready:</b><ul>");
            foreach (var problem in problems) html.Append("<li>").Append(E(problem)).Append("</li>");
            html.Append("</ul></div>\n");
        }

        foreach (var pool in now.Pools) AppendPool(html, pool, then?.Pools.FirstOrDefault(p => p.Name == pool.Name), seconds);
        AppendEvents(html, events);
        html.Append("<p class=\"meta\">JSON: <a href=\"stats\">/stats</a> · <a href=\"metrics\">/metrics</a> · <a href=\"readyz\">/readyz</a> · <a href=\"events\">/events</a> · <a href=\"loglevel\">/loglevel</a></p>\n</body></html>\n");
        return html.ToString();
    }

    /// <summary>What the limits against abuse did to the pool's clients since start, when they did anything.</summary>
    private static string LimitsLine(PoolSnapshot pool)
    {
        var acted = (pool.ClientLimits ?? ClientLimitSnapshot.None).ByName().Where(l => l.Count > 0).ToList();
        if (acted.Count == 0) return "";
        return "\n<p class=\"limits\" data-field=\"limits\">limits acted: "
            + string.Join(" · ", acted.Select(l => $"{E(l.Limit)} <b>{l.Count}</b>")) + "</p>";
    }

    /// <summary>TLS handshakes that failed on the pool's TLS listener, when there were any (a plain client on the TLS port, an untrusted certificate).</summary>
    private static string TlsRefused(PoolSnapshot pool) =>
        pool.TlsRefused == 0 ? "" : $", <span data-field=\"tls-refused\">{pool.TlsRefused}</span> TLS handshakes failed";

    private static void AppendPool(StringBuilder html, PoolSnapshot pool, PoolSnapshot? then, double seconds)
    {
        var poolBuckets = Sum(pool.Backends.Select(b => b.Buckets));
        var thenBuckets = then is null ? null : Sum(then.Backends.Select(b => b.Buckets));
        var window = Window.Between(pool.Requests, pool.Errors, poolBuckets, then?.Requests ?? 0, then?.Errors ?? 0, thenBuckets, seconds);
        html.Append($"""
            <section class="pool" data-pool="{E(pool.Name)}">
            <h2>Pool {E(pool.Name)}{(pool.IsSentinel ? " (Sentinel)" : pool.IsCluster ? " (Redis Cluster)" : "")}</h2>{ClusterLine(pool)}
            <p>listen <code data-field="listen">{E(pool.Listen)}</code> · clients <b data-field="clients">{pool.Clients}</b>
            ({pool.ClientsTotal} accepted, {pool.Rejected} refused{TlsRefused(pool)}) · requests <b data-field="requests">{pool.Requests}</b> ·
            <span data-field="rps">{Rate(window.RequestsPerSecond)}</span> req/s · errors <b data-field="errors">{pool.Errors}</b>
            ({Rate(window.ErrorsPerSecond)}/s) · p50 <span data-field="p50">{Latency(window.P50)}</span> · p99 <span data-field="p99">{Latency(window.P99)}</span></p>{LimitsLine(pool)}
            <table class="backends"><tr><th>backend</th><th>address</th><th>role</th><th>state</th><th>connections</th><th>requests</th><th>req/s</th><th>errors</th><th>p50</th><th>p99</th><th>{(pool.IsSentinel ? "sentinels agreeing" : pool.IsCluster ? "slots, redirections followed" : "timeouts")}</th></tr>

            """);
        foreach (var backend in pool.Backends)
        {
            var before = then?.Backends.FirstOrDefault(b => b.Name == backend.Name);
            var w = Window.Between(backend.Requests, backend.Errors, backend.Buckets, before?.Requests ?? 0, before?.Errors ?? 0, before?.Buckets, seconds);
            string last = pool.IsSentinel
                ? backend.Sentinel is { } v ? $"{v.Agree} of {v.Asked} (quorum {v.Needed})" : "(not checked yet)"
                : pool.IsCluster ? $"{backend.Slots} slots, {backend.Moved} MOVED, {backend.Asked} ASK"
                : backend.Timeouts.ToString(CultureInfo.InvariantCulture);
            html.Append($"""
                <tr data-backend="{E(backend.Name)}"><td data-field="name">{E(backend.Name)}</td><td data-field="address"><code>{E(backend.Address)}</code></td>
                <td data-field="role">{backend.Role}</td><td data-field="state" class="{backend.State}" title="{E(backend.Reason ?? "")}">{backend.State}</td>
                <td class="n" data-field="connections">{backend.Connections}</td><td class="n" data-field="requests">{backend.Requests}</td>
                <td class="n" data-field="rps">{Rate(w.RequestsPerSecond)}</td><td class="n" data-field="errors" title="{backend.ServerErrors} failed because of the server (unreachable, connection lost, timeout); {backend.ReplyErrors} error replies a client's command caused">{backend.Errors}<br><small><span data-field="server-errors" class="{(backend.ServerErrors > 0 ? "down" : "")}">{backend.ServerErrors} server</span> · <span data-field="reply-errors">{backend.ReplyErrors} replies</span></small></td>
                <td class="n" data-field="p50">{Latency(w.P50)}</td><td class="n" data-field="p99">{Latency(w.P99)}</td><td data-field="detail">{E(last)}</td></tr>

                """);
            if (backend.Reason is not null)
                html.Append($"<tr class=\"reason\"><td></td><td colspan=\"10\">{E(backend.Reason)}</td></tr>\n");
            if (backend.WritesAcked > 0 || backend.AckShortfalls > 0)
                html.Append($"<tr class=\"reason\"><td></td><td colspan=\"10\">durable writes: <span data-field=\"writes-acked\">{backend.WritesAcked}</span> held for replicas, <span data-field=\"ack-shortfalls\">{backend.AckShortfalls}</span> WAITs short (NOREPLICAS)</td></tr>\n");
            foreach (var replica in backend.Replicas)
            {
                html.Append($"""
                    <tr class="replica" data-replica="{E(replica.Address)}"><td>replica of {E(backend.Name)}</td><td><code>{E(replica.Address)}</code></td>
                    <td>replica</td><td class="up">up</td><td colspan="7">lag <span data-field="lag">{replica.LagBytes}</span> bytes</td></tr>

                    """);
            }
            foreach (var replica in backend.ReadReplicas)
            {
                string state = replica.ExcludedBecause is null ? "up" : "excluded";
                html.Append($"""
                    <tr class="replica" data-read-replica="{E(replica.Address)}"><td>reads for {E(backend.Name)}</td><td><code>{E(replica.Address)}</code></td>
                    <td>replica</td><td class="{(state == "up" ? "up" : "down")}" data-field="state">{state}</td><td colspan="7"><span data-field="reads">{replica.Reads}</span> reads,
                    lag <span data-field="lag-ms">{replica.LagMs}</span> ms, <span data-field="resent">{replica.ResentToMaster}</span> resent to the master{(replica.ExcludedBecause is { } why ? $": <span data-field=\"why\">{E(why)}</span>" : "")}</td></tr>

                    """);
            }
            foreach (var missing in backend.ReplicasNotConnected)
                html.Append($"<tr class=\"replica\" data-missing-replica=\"{E(missing.Address)}\"><td>replica of {E(backend.Name)}</td><td><code>{E(missing.Address)}</code></td><td>replica</td><td class=\"down\">not connected</td><td colspan=\"7\" data-field=\"why\">{E(missing.Reason)}</td></tr>\n");
            if (pool.IsSentinel && backend.ReplicasKnown > backend.Replicas.Count + backend.ReplicasNotConnected.Count)
                html.Append($"<tr class=\"replica\"><td colspan=\"11\">{backend.ReplicasKnown - backend.Replicas.Count - backend.ReplicasNotConnected.Count} replica(s) known to the sentinels but not connected to the master</td></tr>\n");
        }
        html.Append("</table></section>\n");
    }

    /// <summary>A cluster pool's slot map under its title: version, age, slots served (fewer than 16384 fail closed).</summary>
    private static string ClusterLine(PoolSnapshot pool) => pool.Cluster is not { } map ? "" : $"""

        <p class="meta" data-field="slot-map">slot map <b>{map.Version}</b> · confirmed {(double.IsNaN(map.AgeSeconds) ? "never yet" : $"{map.AgeSeconds:0.0} s ago")} · <b>{map.ServedSlots}</b> of 16384 slots served{(map.Problem is null ? "" : $" · <span class=\"down\">{E(map.Problem)}</span>")}</p>
        """;

    private static void AppendEvents(StringBuilder html, TopologyEvent[] events)
    {
        html.Append("<h2>Topology events</h2>\n");
        if (events.Length == 0)
        {
            html.Append("<p class=\"meta\" data-field=\"events\">None since start.</p>\n");
            return;
        }
        html.Append("<table class=\"events\" data-field=\"events\"><tr><th>time (UTC)</th><th>pool</th><th>event</th><th>server</th><th>what happened</th></tr>\n");
        foreach (var e in events.Reverse().Take(EventsShown))
            html.Append($"<tr><td>{e.Time:yyyy-MM-dd HH:mm:ss.fff}</td><td>{E(e.Pool)}</td><td>{E(e.Kind)}</td><td>{E(e.Server ?? "")}</td><td>{E(e.Message)}</td></tr>\n");
        html.Append("</table>\n");
    }

    private static long[] Sum(IEnumerable<long[]> rows)
    {
        var total = new long[LatencyBuckets.Count];
        foreach (var row in rows)
            for (int i = 0; i < total.Length; i++) total[i] += row[i];
        return total;
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Rate(double perSecond) => perSecond.ToString(perSecond >= 100 ? "0" : "0.0", CultureInfo.InvariantCulture);

    private static string Latency(double? seconds) => seconds switch
    {
        null => "–",
        < 0.001 => (seconds.Value * 1e6).ToString("0", CultureInfo.InvariantCulture) + " µs",
        < 1 => (seconds.Value * 1e3).ToString("0.00", CultureInfo.InvariantCulture) + " ms",
        _ => seconds.Value.ToString("0.00", CultureInfo.InvariantCulture) + " s",
    };

    private static string Duration(TimeSpan span) =>
        span.TotalDays >= 1 ? $"{(int)span.TotalDays}d {span.Hours}h" : span.TotalHours >= 1 ? $"{(int)span.TotalHours}h {span.Minutes}m" : $"{(int)span.TotalMinutes}m {span.Seconds}s";
}
