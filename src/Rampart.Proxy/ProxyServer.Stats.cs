using System.Buffers;
using System.Text.Json;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Observability;
using Rampart.Proxy.Pools;

namespace Rampart.Proxy;

/// <summary>The proxy's counters, as twemproxy's stats document (see <see cref="TwemproxyStats"/>).</summary>
public sealed partial class ProxyServer
{
    private static readonly JsonWriterOptions StatsJsonOptions = new() { Indented = false, SkipValidation = false };
    private readonly DateTimeOffset _createdAt = DateTimeOffset.UtcNow;

    /// <summary>
    /// The pools running now, with the address each listens on, for readers off the request path (admin API,
    /// metrics): taken from the one pool array a reload swaps whole, so a reader never sees a half-made change.
    /// </summary>
    internal IReadOnlyList<RunningPool> RunningPools =>
        Array.ConvertAll(_pools, p => new RunningPool(p, p.Listener?.LocalEndPoint.ToString() ?? "?"));

    /// <summary>Every running pool and backend at this moment, for observers off the request path (the admin server).</summary>
    public ProxySnapshot TakeSnapshot() => ProxySnapshot.Take(this);

    /// <summary>When the proxy was created (uptime).</summary>
    public DateTimeOffset StartedAt => _createdAt;

    /// <summary>Writes twemproxy's stats JSON object (nutcracker 0.5.0's fields, Rampart's live counters).</summary>
    public void WriteTwemproxyStats(Utf8JsonWriter writer)
    {
        var pools = _pools;
        TwemproxyStats.Write(writer, _createdAt, pools, listeners: pools.Length);
    }

    /// <summary>The stats document as nutcracker sends it: one line of JSON and a newline, UTF-8.</summary>
    public byte[] GetTwemproxyStatsJson()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, StatsJsonOptions)) WriteTwemproxyStats(writer);
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>A running pool and the address its listener is bound to (the real port when the config said 0).</summary>
internal sealed record RunningPool(PoolRuntime Pool, string Listen);
