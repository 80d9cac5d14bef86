using System.Text;
using Rampart.Protocol;

namespace Rampart.Proxy.Commands;

/// <summary>
/// A reply written as a string in which every array's elements are sorted, so two replies that list the same
/// things in different orders compare equal. Used to merge admin replies (FUNCTION LIST) from several servers; it
/// allocates, which is fine off the data path. RESP3 aggregates too (a RESP3 client's server connections said
/// HELLO 3): sets like arrays, maps by their key/value pairs; verbatim strings and blob errors like bulk strings.
/// </summary>
internal static class CanonicalReply
{
    public static string Of(ReadOnlySpan<byte> reply)
    {
        int position = 0;
        string canonical = Read(reply, ref position);
        if (position != reply.Length) throw new RespProtocolException("Protocol error from server: bytes after the reply");
        return canonical;
    }

    private static string Read(ReadOnlySpan<byte> reply, ref int position)
    {
        if (position >= reply.Length) throw new RespProtocolException("Protocol error from server: reply cut short");
        byte type = reply[position];
        int lineEnd = reply[position..].IndexOf("\r\n"u8);
        if (lineEnd < 0) throw new RespProtocolException("Protocol error from server: reply line without CRLF");
        var line = reply.Slice(position + 1, lineEnd - 1);
        position += lineEnd + 2;
        switch (type)
        {
            case (byte)'*' or (byte)'~' or (byte)'>' or (byte)'%' or (byte)'|':
            {
                if (!RespNumber.TryParse(line, out long count)) throw new RespProtocolException("Protocol error from server: bad array length");
                if (count < 0) return (char)type + "-1";
                int perItem = type is (byte)'%' or (byte)'|' ? 2 : 1; // a map's entry is its key and value together
                var items = new string[count];
                for (long i = 0; i < count; i++)
                {
                    items[i] = Read(reply, ref position);
                    if (perItem == 2) items[i] += "\u0001" + Read(reply, ref position);
                }
                Array.Sort(items, StringComparer.Ordinal);
                string aggregate = $"{(char)type}{count}[{string.Join('\0', items)}]";
                // An attribute comes before the reply it describes: both are part of the one reply.
                return type == (byte)'|' ? aggregate + Read(reply, ref position) : aggregate;
            }
            case (byte)'$' or (byte)'=' or (byte)'!':
            {
                if (!RespNumber.TryParse(line, out long length)) throw new RespProtocolException("Protocol error from server: bad bulk length");
                if (length < 0) return "$-1";
                if (position + length + 2 > reply.Length) throw new RespProtocolException("Protocol error from server: bulk cut short");
                string value = Encoding.Latin1.GetString(reply.Slice(position, (int)length));
                position += (int)length + 2;
                return (char)type + value;
            }
            default:
                return (char)type + Encoding.Latin1.GetString(line);
        }
    }
}
