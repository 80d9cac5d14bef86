using System.Buffers.Text;

namespace Rampart.Proxy.Commands;

/// <summary>
/// The cursor a client sees when SCAN walks several servers (a sharded pool, later a Redis Cluster's masters): one
/// unsigned 64-bit number, as Redis's own, that carries which server the walk is on and that server's own cursor.
/// <code>
///   cursor = (server's cursor &lt;&lt; 14) | server index        (index in the low 14 bits)
/// </code>
/// Cursor 0 is server 0 from its start, as Redis's 0 is "start"; when a server answers 0 (its walk is over) the
/// client gets (next server, 0), which is just the next index and never 0, and after the last server 0 itself.
/// Why this shape:
/// <list type="bullet">
/// <item>Exact for any cursor a real server returns. A Redis cursor is a bucket index of its hash table (bits
/// reversed), so it stays below the table's size; a cluster node since 7.2 adds its slot in 14 low bits of its own.
/// Shifting by 14 more leaves 50 bits, room for 2^50 buckets, or 2^36 per slot dictionary of a cluster node: more
/// than any server's memory can hold. A server cursor that would not fit is answered with an error naming it, never
/// truncated, so a walk can fail but never skip keys.</item>
/// <item>A fixed width (not the fewest bits for the pool's size): a cursor means the same server after a reload
/// that adds servers at the end, and 14 bits cover the largest Redis Cluster (16384 masters, one slot each).</item>
/// <item>An index past the pool's servers, or text Redis would not parse as a cursor, gets Redis's own
/// <c>ERR invalid cursor</c>.</item>
/// </list>
/// Pure arithmetic: no allocation.
/// </summary>
internal static class ScanCursor
{
    public const int IndexBits = 14;
    /// <summary>The most servers one walk can name.</summary>
    public const int MaxServers = 1 << IndexBits;
    /// <summary>The largest server cursor that can be carried.</summary>
    public const ulong MaxServerCursor = ulong.MaxValue >> IndexBits;
    private const ulong IndexMask = MaxServers - 1;

    public const string InvalidCursor = "ERR invalid cursor";

    /// <summary>
    /// Parses a cursor as Redis 7.0 does (<c>parseScanCursorOrReply</c>: <c>strtoul</c> in base 10): an optional sign
    /// ('-' negates modulo 2^64, as strtoul does), decimal digits, then the end of the text (or a NUL byte, where C
    /// stops reading); no leading space; out of range is invalid. An empty text is 0, as Redis takes it.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out ulong cursor)
    {
        cursor = 0;
        if (text.IsEmpty || text[0] == 0) return true;
        bool negative = text[0] == (byte)'-';
        int i = text[0] is (byte)'-' or (byte)'+' ? 1 : 0;
        int digitsFrom = i;
        ulong value = 0;
        for (; i < text.Length && text[i] - (uint)'0' <= 9; i++)
        {
            uint digit = text[i] - (uint)'0';
            if (value > (ulong.MaxValue - digit) / 10) return false; // ERANGE
            value = value * 10 + digit;
        }
        if (i == digitsFrom) return false; // no digits: strtoul converted nothing and stopped at the first byte
        if (i < text.Length && text[i] != 0) return false;
        cursor = negative ? unchecked(0 - value) : value;
        return true;
    }

    /// <summary>Splits a client's cursor; false when its index names no server of the walk.</summary>
    public static bool TryDecode(ulong cursor, int serverCount, out int server, out ulong serverCursor)
    {
        server = (int)(cursor & IndexMask);
        serverCursor = cursor >> IndexBits;
        return server < serverCount;
    }

    /// <summary>
    /// The cursor for the client after <paramref name="server"/> answered <paramref name="serverReply"/>: the same
    /// server further on, the next server from its start, or 0 once the last server is done. False when the
    /// server's cursor is too large to carry (see the summary).
    /// </summary>
    public static bool TryNext(int server, int serverCount, ulong serverReply, out ulong cursor)
    {
        if (serverReply == 0)
        {
            cursor = server + 1 < serverCount ? (ulong)(server + 1) : 0;
            return true;
        }
        cursor = 0;
        if (serverReply > MaxServerCursor) return false;
        cursor = (serverReply << IndexBits) | (uint)server;
        return true;
    }

    /// <summary>Writes a cursor in decimal, as Redis sends it inside a bulk string.</summary>
    public static int Format(ulong cursor, Span<byte> destination)
    {
        Utf8Formatter.TryFormat(cursor, destination, out int written);
        return written;
    }
}
