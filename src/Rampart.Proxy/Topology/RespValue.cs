using System.Text;
using Rampart.Protocol;

namespace Rampart.Proxy.Topology;

/// <summary>A parsed reply, for the control plane only (Sentinel queries, ROLE checks): it allocates freely.</summary>
internal sealed class RespValue
{
    public enum ValueKind : byte { Simple, Error, Integer, Bulk, Array, Null }

    public ValueKind Kind { get; private init; }
    public string? Text { get; private init; }
    public long Integer { get; private init; }
    public IReadOnlyList<RespValue> Items { get; private init; } = [];

    public bool IsError => Kind == ValueKind.Error;
    public bool IsNull => Kind == ValueKind.Null;

    /// <summary>Parses one complete reply (its length already found by a <see cref="ReplyScanner"/>).</summary>
    public static RespValue Parse(ReadOnlySpan<byte> reply)
    {
        int pos = 0;
        var value = ParseAt(reply, ref pos);
        return value;
    }

    private static RespValue ParseAt(ReadOnlySpan<byte> span, ref int pos)
    {
        byte type = span[pos];
        int cr = span[pos..].IndexOf((byte)'\r') + pos;
        string header = Encoding.UTF8.GetString(span[(pos + 1)..cr]);
        pos = cr + 2;
        switch (type)
        {
            case (byte)'+': return new RespValue { Kind = ValueKind.Simple, Text = header };
            case (byte)'-': return new RespValue { Kind = ValueKind.Error, Text = header };
            case (byte)':': return new RespValue { Kind = ValueKind.Integer, Integer = long.Parse(header) };
            case (byte)'_': return new RespValue { Kind = ValueKind.Null };
            case (byte)'$':
            {
                int length = int.Parse(header);
                if (length < 0) return new RespValue { Kind = ValueKind.Null };
                string text = Encoding.UTF8.GetString(span.Slice(pos, length));
                pos += length + 2;
                return new RespValue { Kind = ValueKind.Bulk, Text = text };
            }
            case (byte)'*':
            {
                int count = int.Parse(header);
                if (count < 0) return new RespValue { Kind = ValueKind.Null };
                var items = new RespValue[count];
                for (int i = 0; i < count; i++) items[i] = ParseAt(span, ref pos);
                return new RespValue { Kind = ValueKind.Array, Items = items };
            }
            default:
                throw new RespProtocolException($"Protocol error: unexpected reply type '{(char)type}' on a control connection");
        }
    }

    /// <summary>A flat field/value array (SENTINEL MASTER, SENTINEL REPLICAS entries) as a dictionary.</summary>
    public Dictionary<string, string> AsFieldMap()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < Items.Count; i += 2)
            if (Items[i].Text is { } key) map[key] = Items[i + 1].Text ?? "";
        return map;
    }

    public override string ToString() => Kind switch
    {
        ValueKind.Array => "[" + string.Join(", ", Items) + "]",
        ValueKind.Null => "(nil)",
        ValueKind.Integer => Integer.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => Text ?? "",
    };
}
