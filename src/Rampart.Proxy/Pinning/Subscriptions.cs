using System.Text;
using Rampart.Protocol;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// The channels, patterns and shard channels a subscribed client holds, as the server confirmed them (read from the
/// subscribe and unsubscribe confirmations going by), so they can be subscribed again on a new connection after a
/// failover. Names are kept as Latin-1 strings: one char per byte, so any binary name round-trips.
/// </summary>
internal sealed class Subscriptions
{
    private readonly HashSet<string> _channels = new(StringComparer.Ordinal);
    private readonly HashSet<string> _patterns = new(StringComparer.Ordinal);
    private readonly HashSet<string> _shardChannels = new(StringComparer.Ordinal);

    public int Count => _channels.Count + _patterns.Count + _shardChannels.Count;
    public int ChannelCount => _channels.Count;
    public int PatternCount => _patterns.Count;
    public int ShardChannelCount => _shardChannels.Count;

    /// <summary>
    /// Reads a reply; returns true when it is a subscribe or unsubscribe confirmation (<c>*3 kind name count</c>, or
    /// in RESP3 the push <c>&gt;3 kind name count</c> with <c>_</c> for no name) and updates the sets.
    /// </summary>
    public bool Observe(ReadOnlySpan<byte> reply)
    {
        if (reply.Length < 20 || reply[0] is not ((byte)'*' or (byte)'>') || reply[1] != (byte)'3') return false;
        int pos = 4;
        if (!TryBulk(reply, ref pos, out var kind, out _) || !TryBulk(reply, ref pos, out var name, out bool isNull)) return false;
        if (pos >= reply.Length || reply[pos] != (byte)':') return false;
        var set = kind switch
        {
            _ when kind.SequenceEqual("subscribe"u8) || kind.SequenceEqual("unsubscribe"u8) => _channels,
            _ when kind.SequenceEqual("psubscribe"u8) || kind.SequenceEqual("punsubscribe"u8) => _patterns,
            _ when kind.SequenceEqual("ssubscribe"u8) || kind.SequenceEqual("sunsubscribe"u8) => _shardChannels,
            _ => null,
        };
        if (set is null) return false;
        if (isNull) return true; // "$-1": an unsubscribe-all when nothing was subscribed
        string key = Encoding.Latin1.GetString(name);
        if (kind.IndexOf("unsubscribe"u8) >= 0) set.Remove(key);
        else set.Add(key);
        return true;
    }

    /// <summary>The shard channels held (the ones moving to another node included until they are followed).</summary>
    public IEnumerable<string> ShardChannels => _shardChannels;

    public bool HoldsShardChannel(string name) => _shardChannels.Contains(name);

    /// <summary>True when <paramref name="reply"/> is a <c>sunsubscribe</c> confirmation of a named shard channel.</summary>
    public static bool TryReadShardUnsubscribe(ReadOnlySpan<byte> reply, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? channel)
    {
        channel = null;
        if (reply.Length < 20 || reply[0] is not ((byte)'*' or (byte)'>') || reply[1] != (byte)'3') return false;
        int pos = 4;
        if (!TryBulk(reply, ref pos, out var kind, out _) || !kind.SequenceEqual("sunsubscribe"u8)) return false;
        if (!TryBulk(reply, ref pos, out var name, out bool isNull) || isNull) return false;
        channel = Encoding.Latin1.GetString(name);
        return true;
    }

    /// <summary>Writes SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE for everything held; returns the confirmations to expect.</summary>
    public int WriteResubscribe(ByteBuffer output)
    {
        int count = Write(output, "SUBSCRIBE", _channels) + Write(output, "PSUBSCRIBE", _patterns);
        // One SSUBSCRIBE per shard channel: in a cluster, channels of several slots in one call are CROSSSLOT.
        foreach (var name in _shardChannels)
        {
            RespWriter.ArrayHeader(output, 2);
            RespWriter.Bulk(output, "SSUBSCRIBE");
            RespWriter.Bulk(output, Encoding.Latin1.GetBytes(name));
        }
        return count + _shardChannels.Count;
    }

    private static int Write(ByteBuffer output, string command, HashSet<string> names)
    {
        if (names.Count == 0) return 0;
        RespWriter.ArrayHeader(output, names.Count + 1);
        RespWriter.Bulk(output, command);
        foreach (var name in names) RespWriter.Bulk(output, Encoding.Latin1.GetBytes(name));
        return names.Count;
    }

    private static bool TryBulk(ReadOnlySpan<byte> reply, ref int pos, out ReadOnlySpan<byte> value, out bool isNull)
    {
        value = default;
        isNull = false;
        if (pos + 2 < reply.Length && reply[pos] == (byte)'_' && reply[pos + 1] == (byte)'\r')
        {
            pos += 3; // RESP3's null
            return isNull = true;
        }
        if (pos >= reply.Length || reply[pos] != (byte)'$') return false;
        int cr = reply[pos..].IndexOf((byte)'\r');
        if (cr < 0 || !RespNumber.TryParse(reply.Slice(pos + 1, cr - 1), out long length)) return false;
        pos += cr + 2;
        if (length < 0) return isNull = true;
        if (pos + length + 2 > reply.Length) return false;
        value = reply.Slice(pos, (int)length);
        pos += (int)length + 2;
        return true;
    }
}
