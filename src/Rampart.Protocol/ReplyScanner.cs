using System.Diagnostics.CodeAnalysis;

namespace Rampart.Protocol;

/// <summary>
/// Finds where one complete reply ends in a server's byte stream, for every RESP2 and RESP3 type
/// (<c>+ - : $ *</c> and <c>_ , # ( ! = % ~ &gt; |</c>), without copying it.
/// It resumes: after an incomplete scan, the next call (same reply start, more bytes) continues where the last one
/// stopped, so a huge reply arriving in many reads is scanned once in total, not once per read. The bytes scanned so
/// far (<see cref="Passable"/>) may be handed on before the reply ends (<see cref="Discard"/>), so a reply of any size
/// can pass through a bounded buffer.
/// Any nesting depth a server can send is accepted (the stack of open aggregates grows as needed, by the bytes that
/// opened them, so it is bounded by the reply's own size).
/// Malformed bytes from a server throw <see cref="RespProtocolException"/>: the connection cannot be trusted after.
/// </summary>
public sealed class ReplyScanner
{
    private const int InitialDepth = 16;
    private const long MaxLength = int.MaxValue;

    private int _pos;
    private int _depth;
    private long[] _remaining = new long[InitialDepth];
    private bool[] _isAttribute = new bool[InitialDepth];
    // Inside a bulk string whose end had not arrived: where it ends (after its CRLF), relative to the buffer start.
    private long _bulkEnd;
    private int _passable;

    /// <summary>
    /// After <see cref="TryScan"/> returned false: how many bytes at the start of the buffer are known to belong to the
    /// unfinished reply (whole elements and headers, and the body of a bulk string so far, without its final CRLF).
    /// </summary>
    public int Passable => _passable;

    /// <summary>
    /// The caller has handed on and removed the first <paramref name="count"/> bytes (at most <see cref="Passable"/>)
    /// of the unfinished reply: the next scan resumes on the buffer that remains.
    /// </summary>
    public void Discard(int count)
    {
        if ((uint)count > (uint)_passable) throw new ArgumentOutOfRangeException(nameof(count));
        if (_bulkEnd != 0) _bulkEnd -= count; // inside a bulk body the resume point is _bulkEnd, not _pos
        else _pos -= count;
        _passable -= count;
    }

    /// <summary>
    /// Tries to find the end of the reply that starts at <paramref name="buffer"/>[0].
    /// Returns true with its <paramref name="length"/>; false when more bytes are needed.
    /// </summary>
    public bool TryScan(ReadOnlySpan<byte> buffer, out int length)
    {
        int pos = _pos;
        if (_bulkEnd != 0)
        {
            // Resuming inside a bulk string's body.
            if (_bulkEnd > buffer.Length) return SuspendInBulk(buffer.Length, out length);
            int end = (int)_bulkEnd;
            if (buffer[end - 2] != (byte)'\r' || buffer[end - 1] != (byte)'\n') ThrowMalformed("bulk string not terminated by CRLF");
            _bulkEnd = 0;
            pos = end;
            if (ElementDone()) return Finish(pos, out length);
        }
        while (true)
        {
            // Close every aggregate whose elements are all read; an attribute does not count as an element.
            while (_depth > 0 && _remaining[_depth - 1] == 0)
            {
                bool attribute = _isAttribute[_depth - 1];
                _depth--;
                if (!attribute && ElementDone()) return Finish(pos, out length);
            }

            if (pos >= buffer.Length) return Suspend(pos, out length);
            byte type = buffer[pos];
            // Refuse an unknown type byte at once, rather than wait for a CR that garbage may never send.
            if (!IsType(type)) ThrowMalformed($"unknown reply type byte 0x{type:x2}");
            var rest = buffer.Slice(pos);
            int cr = rest.IndexOf((byte)'\r');
            if (cr < 0 || cr + 1 >= rest.Length) return Suspend(pos, out length);
            if (rest[cr + 1] != (byte)'\n') ThrowMalformed("expected LF after CR");
            var header = rest.Slice(1, cr - 1);
            int next = pos + cr + 2;

            switch (type)
            {
                case (byte)'+': case (byte)'-': case (byte)':': case (byte)',':
                case (byte)'_': case (byte)'#': case (byte)'(':
                    pos = next;
                    if (ElementDone()) return Finish(pos, out length);
                    break;

                case (byte)'$': case (byte)'!': case (byte)'=':
                {
                    long len = ParseLength(header);
                    if (len > MaxLength) ThrowMalformed("bulk length too large");
                    if (len < 0)
                    {
                        pos = next; // RESP2 null bulk string
                    }
                    else
                    {
                        long end = (long)next + len + 2;
                        if (end > buffer.Length)
                        {
                            // The body is still coming: what has arrived of it may already be handed on.
                            _pos = next;
                            _bulkEnd = end;
                            return SuspendInBulk(buffer.Length, out length);
                        }
                        if (buffer[(int)end - 2] != (byte)'\r' || buffer[(int)end - 1] != (byte)'\n')
                            ThrowMalformed("bulk string not terminated by CRLF");
                        pos = (int)end;
                    }
                    if (ElementDone()) return Finish(pos, out length);
                    break;
                }

                case (byte)'*': case (byte)'~': case (byte)'>': case (byte)'%': case (byte)'|':
                {
                    long count = ParseLength(header);
                    // More elements than a buffer can hold bytes is garbage, and doubling a map's count must not overflow.
                    if (count > MaxLength) ThrowMalformed("aggregate length too large");
                    pos = next;
                    if (count < 0 || (count == 0 && type != (byte)'|'))
                    {
                        // Null or empty aggregate: a complete element on its own.
                        if (ElementDone()) return Finish(pos, out length);
                        break;
                    }
                    if (type is (byte)'%' or (byte)'|') count *= 2;
                    if (_depth == _remaining.Length) GrowStack();
                    _remaining[_depth] = count;
                    _isAttribute[_depth] = type == (byte)'|';
                    _depth++;
                    break;
                }

                default:
                    throw new InvalidOperationException("unreachable: type bytes are checked above");
            }
        }
    }

    /// <summary>Forgets progress (after the caller discards the buffer, for example on reconnect).</summary>
    public void Reset()
    {
        _pos = 0;
        _depth = 0;
        _bulkEnd = 0;
        _passable = 0;
        ShrinkStack();
    }

    private void GrowStack()
    {
        Array.Resize(ref _remaining, _remaining.Length * 2);
        Array.Resize(ref _isAttribute, _isAttribute.Length * 2);
    }

    // A deep reply grew the stack: a connection that lives for days does not keep it.
    private void ShrinkStack()
    {
        if (_remaining.Length == InitialDepth) return;
        _remaining = new long[InitialDepth];
        _isAttribute = new bool[InitialDepth];
    }

    // Counts one finished element against the innermost open aggregate; true when it was a whole top-level reply.
    private bool ElementDone()
    {
        if (_depth == 0) return true;
        _remaining[_depth - 1]--;
        return false;
    }

    private bool Finish(int pos, out int length)
    {
        length = pos;
        _pos = 0;
        _depth = 0;
        _passable = 0;
        ShrinkStack();
        return true;
    }

    private bool Suspend(int pos, out int length)
    {
        _pos = pos;
        _passable = pos;
        length = 0;
        return false;
    }

    // Inside a bulk body: all that arrived may pass, but its final CRLF, which is checked when the body is whole.
    private bool SuspendInBulk(int available, out int length)
    {
        _passable = (int)Math.Min(available, _bulkEnd - 2);
        length = 0;
        return false;
    }

    private static bool IsType(byte b) => b is (byte)'+' or (byte)'-' or (byte)':' or (byte)',' or (byte)'_' or (byte)'#'
        or (byte)'(' or (byte)'$' or (byte)'!' or (byte)'=' or (byte)'*' or (byte)'~' or (byte)'>' or (byte)'%' or (byte)'|';

    private static long ParseLength(ReadOnlySpan<byte> header)
    {
        if (!RespNumber.TryParse(header, out long value) || value < -1) ThrowMalformed("invalid length");
        return value;
    }

    [DoesNotReturn]
    private static void ThrowMalformed(string what) => throw new RespProtocolException("Protocol error from server: " + what);
}

/// <summary>A server sent bytes that are not RESP. The connection that carried them must be closed.</summary>
public sealed class RespProtocolException(string message) : Exception(message);
