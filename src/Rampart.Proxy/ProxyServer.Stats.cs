using System.Buffers;
using System.Text.Json;
using Rampart.Proxy.Observability;

namespace Rampart.Proxy;

/// <summary>The proxy's counters, as twemproxy's stats document (see <see cref="TwemproxyStats"/>).</summary>
public sealed partial class ProxyServer
{
    private static readonly JsonWriterOptions StatsJsonOptions = new() { Indented = false, SkipValidation = false };
    private readonly DateTimeOffset _createdAt = DateTimeOffset.UtcNow;

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
