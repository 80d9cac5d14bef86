using System.Buffers.Text;
using System.Text;

namespace Rampart.Protocol;

/// <summary>Writes RESP replies and requests into a <see cref="ByteBuffer"/>.</summary>
public static class RespWriter
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    public static void SimpleString(ByteBuffer output, ReadOnlySpan<byte> text)
    {
        output.WriteByte((byte)'+');
        output.Write(text);
        output.Write(Crlf);
    }

    /// <summary>An error line; <paramref name="message"/> includes its code, for example "ERR unknown command".</summary>
    public static void Error(ByteBuffer output, ReadOnlySpan<byte> message)
    {
        output.WriteByte((byte)'-');
        output.Write(message);
        output.Write(Crlf);
    }

    /// <summary>
    /// An error line that quotes a client's argument, as Redis's addReplyErrorFormat prints one with "%s":
    /// <paramref name="before"/> (its code included), the argument as <see cref="ErrorArgument"/> writes it, then
    /// <paramref name="after"/>.
    /// </summary>
    public static void Error(ByteBuffer output, ReadOnlySpan<byte> before, ReadOnlySpan<byte> argument, ReadOnlySpan<byte> after)
    {
        output.WriteByte((byte)'-');
        output.Write(before);
        ErrorArgument(output, argument);
        output.Write(after);
        output.Write(Crlf);
    }

    /// <summary>
    /// A client's bytes inside an error line, as Redis prints them with "%s" or "%.<paramref name="max"/>s": up to
    /// the first NUL byte (where a C string ends), at most <paramref name="max"/> bytes, sent raw, with CR and LF
    /// turned into spaces (Redis maps them over the whole line so that it stays one line). Returns the bytes written.
    /// </summary>
    public static int ErrorArgument(ByteBuffer output, ReadOnlySpan<byte> value, int max = int.MaxValue)
    {
        int nul = value.IndexOf((byte)0);
        if (nul >= 0) value = value[..nul];
        if (value.Length > max) value = value[..max];
        var span = output.GetSpan(value.Length)[..value.Length];
        value.CopyTo(span);
        span.Replace((byte)'\r', (byte)' ');
        span.Replace((byte)'\n', (byte)' ');
        output.Advance(value.Length);
        return value.Length;
    }

    public static void Error(ByteBuffer output, string message)
    {
        int max = Encoding.UTF8.GetMaxByteCount(message.Length) + 3;
        var span = output.GetSpan(max);
        span[0] = (byte)'-';
        int n = Encoding.UTF8.GetBytes(message, span[1..]);
        // Error lines must stay on one line whatever the message holds.
        foreach (ref byte b in span.Slice(1, n))
            if (b is (byte)'\r' or (byte)'\n') b = (byte)' ';
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        output.Advance(n + 3);
    }

    public static void Integer(ByteBuffer output, long value) => Header(output, (byte)':', value);

    public static void Bulk(ByteBuffer output, ReadOnlySpan<byte> value)
    {
        Header(output, (byte)'$', value.Length);
        output.Write(value);
        output.Write(Crlf);
    }

    public static void Bulk(ByteBuffer output, string value)
    {
        int count = Encoding.UTF8.GetByteCount(value);
        Header(output, (byte)'$', count);
        var span = output.GetSpan(count + 2);
        Encoding.UTF8.GetBytes(value, span);
        span[count] = (byte)'\r';
        span[count + 1] = (byte)'\n';
        output.Advance(count + 2);
    }

    public static void NullBulk(ByteBuffer output) => output.Write("$-1\r\n"u8);

    public static void NullArray(ByteBuffer output) => output.Write("*-1\r\n"u8);

    /// <summary>RESP3's null (<c>_</c>), which a RESP3 client gets where a RESP2 one gets a null bulk string or array.</summary>
    public static void Null(ByteBuffer output) => output.Write("_\r\n"u8);

    /// <summary>A null bulk string in the client's protocol: <c>$-1</c> (RESP2) or <c>_</c> (RESP3).</summary>
    public static void NullBulk(ByteBuffer output, bool resp3)
    {
        if (resp3) Null(output);
        else NullBulk(output);
    }

    /// <summary>RESP3 map header: <paramref name="pairs"/> key/value pairs follow.</summary>
    public static void MapHeader(ByteBuffer output, long pairs) => Header(output, (byte)'%', pairs);

    /// <summary>RESP3 push header (pub/sub messages and confirmations).</summary>
    public static void PushHeader(ByteBuffer output, long count) => Header(output, (byte)'>', count);

    /// <summary>
    /// A text reply as Redis gives it: a bulk string in RESP2, a verbatim string of format "txt" in RESP3 (INFO,
    /// CLIENT INFO, CLIENT LIST).
    /// </summary>
    public static void Text(ByteBuffer output, string text, bool resp3)
    {
        if (!resp3)
        {
            Bulk(output, text);
            return;
        }
        int count = Encoding.UTF8.GetByteCount(text);
        Header(output, (byte)'=', count + 4);
        var span = output.GetSpan(count + 6);
        "txt:"u8.CopyTo(span);
        Encoding.UTF8.GetBytes(text, span[4..]);
        span[count + 4] = (byte)'\r';
        span[count + 5] = (byte)'\n';
        output.Advance(count + 6);
    }

    public static void ArrayHeader(ByteBuffer output, long count) => Header(output, (byte)'*', count);

    /// <summary>A command as a client sends it: an array of bulk strings (the control plane's, the demo's, the tests').</summary>
    public static void Command(ByteBuffer output, params ReadOnlySpan<string> args)
    {
        ArrayHeader(output, args.Length);
        foreach (var arg in args) Bulk(output, arg);
    }

    /// <summary>A command of binary arguments: an array of bulk strings.</summary>
    public static void Command(ByteBuffer output, params ReadOnlySpan<byte[]> args)
    {
        ArrayHeader(output, args.Length);
        foreach (var arg in args) Bulk(output, arg);
    }

    /// <summary>A type byte, a number and CRLF: the header of integers, bulk strings and aggregates.</summary>
    public static void Header(ByteBuffer output, byte type, long value)
    {
        var span = output.GetSpan(24);
        span[0] = type;
        Utf8Formatter.TryFormat(value, span[1..], out int n);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        output.Advance(n + 3);
    }
}
