using System.Globalization;
using System.Text;

namespace Rampart.Protocol;

/// <summary>
/// One complete RESP2/RESP3 reply parsed into .NET values, for the places that read a few replies and want their
/// values rather than their bytes: the Sentinel control plane, the demo's readiness checks, the tests' clients. It
/// allocates freely and is never used on the request path (which passes replies on verbatim).
/// Bounded: <see cref="Parse"/> walks nested aggregates with a stack on the heap, never by recursion, and refuses an
/// aggregate count larger than the bytes left could hold, so what it allocates is proportional to the reply's length
/// whatever the reply says.
/// </summary>
public sealed class RespValue
{
    /// <summary>What a value is; each kind names its RESP type byte.</summary>
    public enum ValueKind : byte
    {
        /// <summary><c>+</c></summary>
        Simple,
        /// <summary><c>-</c></summary>
        Error,
        /// <summary><c>:</c></summary>
        Integer,
        /// <summary><c>$</c></summary>
        Bulk,
        /// <summary><c>*</c></summary>
        Array,
        /// <summary><c>_</c>, <c>$-1</c> and <c>*-1</c></summary>
        Null,
        /// <summary><c>,</c> (the text as sent, in <see cref="Text"/>)</summary>
        Double,
        /// <summary><c>#</c> (<see cref="Integer"/> is 1 or 0)</summary>
        Boolean,
        /// <summary><c>(</c> (the digits, in <see cref="Text"/>)</summary>
        BigNumber,
        /// <summary><c>!</c></summary>
        BulkError,
        /// <summary><c>=</c> (<see cref="Text"/> without the format; the format in <see cref="Format"/>)</summary>
        Verbatim,
        /// <summary><c>%</c> (keys and values alternate in <see cref="Items"/>)</summary>
        Map,
        /// <summary><c>~</c></summary>
        Set,
        /// <summary><c>&gt;</c></summary>
        Push,
    }

    private static readonly RespValue NullValue = new(ValueKind.Null);
    private string? _text;

    private RespValue(ValueKind kind) => Kind = kind;

    public ValueKind Kind { get; }

    /// <summary>A string value's bytes (every kind but Integer, Boolean, Null and the aggregates); null otherwise.</summary>
    public byte[]? Bytes { get; private init; }

    /// <summary><see cref="Bytes"/> as UTF-8 text; null for a value that is not a string.</summary>
    public string? Text => _text ??= Bytes is { } bytes ? Encoding.UTF8.GetString(bytes) : null;

    /// <summary>An Integer's value (a Boolean's as 1 or 0).</summary>
    public long Integer { get; private init; }

    /// <summary>A verbatim string's three-letter format (<c>txt</c>, <c>mkd</c>); null otherwise.</summary>
    public string? Format { get; private init; }

    /// <summary>An aggregate's elements (a map's keys and values alternating); empty otherwise.</summary>
    public IReadOnlyList<RespValue> Items { get; private init; } = [];

    public bool IsError => Kind is ValueKind.Error or ValueKind.BulkError;
    public bool IsNull => Kind == ValueKind.Null;
    public bool IsAggregate => Kind is ValueKind.Array or ValueKind.Map or ValueKind.Set or ValueKind.Push;

    /// <summary>
    /// Parses the one complete reply that <paramref name="reply"/> holds exactly (its length found by a
    /// <see cref="ReplyScanner"/>). A RESP3 attribute before a value is read and dropped. Throws
    /// <see cref="RespProtocolException"/> on malformed, incomplete or trailing bytes.
    /// </summary>
    public static RespValue Parse(ReadOnlySpan<byte> reply)
    {
        var value = ParseFirst(reply, out int length);
        if (length != reply.Length) Malformed($"{reply.Length - length} bytes after the reply");
        return value;
    }

    /// <summary>
    /// Parses the first reply of <paramref name="buffer"/> and says how many bytes it took. The reply must be complete
    /// (check with a <see cref="ReplyScanner"/> first): an incomplete one throws <see cref="RespProtocolException"/>.
    /// </summary>
    public static RespValue ParseFirst(ReadOnlySpan<byte> buffer, out int length)
    {
        var open = new Stack<Aggregate>();
        int pos = 0;
        while (true)
        {
            var value = ReadOne(buffer, ref pos, out var opened);
            if (opened is not null)
            {
                open.Push(opened);
                if (opened.Items.Length > 0) continue;
                value = Close(open);
            }
            // Deliver the finished value to the aggregates it completes, innermost first.
            while (true)
            {
                if (value is null) break; // an attribute ended: the value it annotates follows
                if (open.Count == 0)
                {
                    length = pos;
                    return value;
                }
                var parent = open.Peek();
                parent.Items[parent.Filled++] = value;
                if (parent.Filled < parent.Items.Length) break;
                value = Close(open);
            }
        }
    }

    /// <summary>A flat field/value array (SENTINEL MASTER, SENTINEL REPLICAS entries) or a map, as a dictionary.</summary>
    public Dictionary<string, string> AsFieldMap()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < Items.Count; i += 2)
            if (Items[i].Text is { } key) map[key] = Items[i + 1].Text ?? "";
        return map;
    }

    public override string ToString() => Kind switch
    {
        _ when IsAggregate => "[" + string.Join(", ", Items) + "]",
        ValueKind.Null => "(nil)",
        ValueKind.Integer => Integer.ToString(CultureInfo.InvariantCulture),
        ValueKind.Boolean => Integer != 0 ? "true" : "false",
        _ => Text ?? "",
    };

    private sealed class Aggregate(ValueKind kind, RespValue[] items, bool attribute)
    {
        public readonly ValueKind Kind = kind;
        public readonly RespValue[] Items = items;
        public readonly bool IsAttribute = attribute;
        public int Filled;
    }

    /// <summary>Pops the finished aggregate on top: its value, or null for an attribute (which is dropped).</summary>
    private static RespValue? Close(Stack<Aggregate> open)
    {
        var done = open.Pop();
        return done.IsAttribute ? null : new RespValue(done.Kind) { Items = done.Items };
    }

    /// <summary>
    /// Reads one value at <paramref name="pos"/>: a scalar, or the header of an aggregate (returned in
    /// <paramref name="opened"/>, with null as the value, for the caller to fill).
    /// </summary>
    private static RespValue? ReadOne(ReadOnlySpan<byte> buffer, ref int pos, out Aggregate? opened)
    {
        opened = null;
        if (pos >= buffer.Length) Malformed("the reply ends early");
        byte type = buffer[pos];
        int lineEnd = buffer[pos..].IndexOf("\r\n"u8);
        if (lineEnd < 0) Malformed("a line without CRLF");
        var line = buffer.Slice(pos + 1, lineEnd - 1);
        pos += lineEnd + 2;
        switch (type)
        {
            case (byte)'+': return new RespValue(ValueKind.Simple) { Bytes = line.ToArray() };
            case (byte)'-': return new RespValue(ValueKind.Error) { Bytes = line.ToArray() };
            case (byte)',': return new RespValue(ValueKind.Double) { Bytes = line.ToArray() };
            case (byte)'(': return new RespValue(ValueKind.BigNumber) { Bytes = line.ToArray() };
            case (byte)':': return new RespValue(ValueKind.Integer) { Integer = Number(line) };
            case (byte)'_': return line.Length == 0 ? NullValue : Malformed("a null with content");
            case (byte)'#':
                return line.Length == 1 && line[0] is (byte)'t' or (byte)'f'
                    ? new RespValue(ValueKind.Boolean) { Integer = line[0] == (byte)'t' ? 1 : 0 }
                    : Malformed("a boolean that is neither t nor f");
            case (byte)'$' or (byte)'!' or (byte)'=':
            {
                long size = Number(line);
                if (size < 0) return type == (byte)'$' && size == -1 ? NullValue : Malformed("a negative length");
                if (size > buffer.Length - pos - 2) Malformed("the reply ends early");
                var body = buffer.Slice(pos, (int)size);
                pos += (int)size;
                if (buffer[pos] != (byte)'\r' || buffer[pos + 1] != (byte)'\n') Malformed("a string not ended by CRLF");
                pos += 2;
                if (type == (byte)'$') return new RespValue(ValueKind.Bulk) { Bytes = body.ToArray() };
                if (type == (byte)'!') return new RespValue(ValueKind.BulkError) { Bytes = body.ToArray() };
                if (body.Length < 4 || body[3] != (byte)':') Malformed("a verbatim string without its format");
                return new RespValue(ValueKind.Verbatim)
                {
                    Format = Encoding.ASCII.GetString(body[..3]), Bytes = body[4..].ToArray(),
                };
            }
            case (byte)'*' or (byte)'%' or (byte)'~' or (byte)'>' or (byte)'|':
            {
                long count = Number(line);
                if (count < 0) return type == (byte)'*' && count == -1 ? NullValue : Malformed("a negative count");
                if (type is (byte)'%' or (byte)'|') count *= 2;
                // Every element takes at least three bytes ("_\r\n"): a larger count cannot be true.
                if (count > (buffer.Length - pos) / 3) Malformed("the reply ends early");
                var kind = type switch
                {
                    (byte)'%' => ValueKind.Map,
                    (byte)'~' => ValueKind.Set,
                    (byte)'>' => ValueKind.Push,
                    _ => ValueKind.Array,
                };
                opened = new Aggregate(kind, new RespValue[count], type == (byte)'|');
                return null;
            }
            default:
                return Malformed($"unexpected reply type '{(char)type}'");
        }
    }

    private static long Number(ReadOnlySpan<byte> line) =>
        RespNumber.TryParse(line, out long value) ? value : Malformed<long>("not a number");

    private static RespValue Malformed(string reason) => Malformed<RespValue>(reason);

    private static T Malformed<T>(string reason) => throw new RespProtocolException("Protocol error: " + reason);
}
