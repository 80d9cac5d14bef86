using System.Runtime.CompilerServices;

namespace Rampart.Protocol;

/// <summary>
/// Reads client requests, multibulk (<c>*2\r\n$3\r\nGET\r\n$1\r\nk\r\n</c>) or inline (<c>GET k\r\n</c>, as telnet
/// and redis-cli send), from a contiguous buffer, without copying multibulk arguments.
/// One reader belongs to one client session: it keeps its argument table between calls so that a request split
/// across reads resumes where it stopped instead of being parsed again from its start.
/// Error texts and the points where they are raised follow Redis's networking.c exactly, including where Redis finds a
/// line's end with strchr: a NUL byte before the end hides it, and the request waits until it is too big.
/// </summary>
public sealed class RequestReader
{
    private RespLimits _limits;
    // Allocated at the first request, not with the reader: a client that never sends anything holds none of them
    // (a proxy may hold a hundred thousand such connections). Inline requests are rare; their buffer comes with the first.
    private int[] _offsets = [];
    private int[] _lengths = [];
    private byte[] _inline = [];
    private int _count;

    // Resume state of a multibulk request that was incomplete: where parsing stopped and how many arguments remain.
    private int _resumePos;
    private int _resumeExpected;
    private long _needed;

    public RequestReader(RespLimits? limits = null) => _limits = limits ?? RespLimits.Default;

    /// <summary>The bounds requests are checked against; a new value applies from the next call (a reload).</summary>
    public RespLimits Limits
    {
        get => _limits;
        set => _limits = value;
    }

    /// <summary>The message of the error a request over <see cref="RespLimits.MaxRequestLength"/> gets.</summary>
    public const string TooBigRequest = "Protocol error: request larger than max_request_size";

    /// <summary>
    /// True when the last <see cref="ParseStatus.Error"/> was a size bound (a bulk over <see cref="RespLimits.MaxBulkLength"/>
    /// or a request over <see cref="RespLimits.MaxRequestLength"/>), for the caller's counters.
    /// </summary>
    public bool ErrorWasSizeLimit { get; private set; }

    /// <summary>Number of arguments of the request just read (command name included).</summary>
    public int ArgumentCount => _count;

    /// <summary>True when the request was an inline command; its arguments live in the reader, not the buffer.</summary>
    public bool IsInline { get; private set; }

    /// <summary>
    /// True while the client has still to authenticate to a pool that requires it (Redis's authRequired): a multibulk
    /// of more than <see cref="RespLimits.UnauthenticatedMaxArguments"/> elements or a bulk of more than
    /// <see cref="RespLimits.UnauthenticatedMaxBulkLength"/> bytes is then a protocol error, raised as soon as its
    /// header line is read, so the body is never waited for.
    /// </summary>
    public bool AuthRequired { get; set; }

    /// <summary>Redis's error message (without the leading "ERR ") after <see cref="ParseStatus.Error"/>.</summary>
    public string? Error { get; private set; }

    /// <summary>
    /// Writes Redis's error line for the last <see cref="ParseStatus.Error"/>: <c>-ERR</c>, the message and CRLF, byte
    /// for byte as Redis sends it (a byte quoted from the request is sent raw, CR and LF become spaces).
    /// </summary>
    public void WriteError(ByteBuffer output)
    {
        string message = Error ?? throw new InvalidOperationException("no protocol error to write");
        var span = output.GetSpan(message.Length + 7);
        "-ERR "u8.CopyTo(span);
        // Every char of the message came from one byte (ASCII text, or a request byte widened as Latin-1).
        int n = System.Text.Encoding.Latin1.GetBytes(message, span[5..]);
        foreach (ref byte b in span.Slice(5, n))
            if (b is (byte)'\r' or (byte)'\n') b = (byte)' ';
        span[n + 5] = (byte)'\r';
        span[n + 6] = (byte)'\n';
        output.Advance(n + 7);
    }

    /// <summary>After <see cref="ParseStatus.Incomplete"/>: the buffer length at which trying again can make progress.</summary>
    public long NeededLength => _needed;

    /// <summary>Argument <paramref name="index"/> of the request just read from <paramref name="buffer"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Argument(ReadOnlySpan<byte> buffer, int index)
    {
        if ((uint)index >= (uint)_count) ThrowIndex();
        return IsInline
            ? _inline.AsSpan(_offsets[index], _lengths[index])
            : buffer.Slice(_offsets[index], _lengths[index]);
    }

    /// <summary>Offset of argument <paramref name="index"/> inside the buffer (multibulk requests only).</summary>
    public int ArgumentOffset(int index) => _offsets[index];

    /// <summary>Length of argument <paramref name="index"/>.</summary>
    public int ArgumentLength(int index) => _lengths[index];

    /// <summary>
    /// Tries to read one request from the start of <paramref name="buffer"/>. After Incomplete, call again with a
    /// buffer that starts with the same bytes and holds more. After Complete, <paramref name="consumed"/> is the
    /// request's length in bytes (its raw form, which can be forwarded as is when it is not inline).
    /// </summary>
    public ParseStatus TryRead(ReadOnlySpan<byte> buffer, out int consumed)
    {
        consumed = 0;
        if (buffer.Length == 0)
        {
            _needed = 1;
            return ParseStatus.Incomplete;
        }
        if (buffer.Length < _needed) return ParseStatus.Incomplete;
        return buffer[0] == (byte)'*' ? ReadMultibulk(buffer, out consumed) : ReadInline(buffer, out consumed);
    }

    private ParseStatus ReadMultibulk(ReadOnlySpan<byte> buffer, out int consumed)
    {
        consumed = 0;
        IsInline = false;
        int pos = _resumePos;
        int expected = _resumeExpected;
        if (pos == 0)
        {
            int cr = buffer.IndexOf((byte)'\r');
            if (cr < 0)
            {
                if (buffer.Length > _limits.MaxInlineLength) return Fail("Protocol error: too big mbulk count string");
                return NeedMore(buffer.Length + 1);
            }
            if (cr + 1 >= buffer.Length) return NeedMore(cr + 2);
            if (!RespNumber.TryParse(buffer.Slice(1, cr - 1), out long count) || count > int.MaxValue)
            {
                if (buffer[..cr].Contains((byte)0)) return WaitUntilTooBig(0, 0, buffer.Length, "Protocol error: too big mbulk count string");
                return Fail("Protocol error: invalid multibulk length");
            }
            if (AuthRequired && count > RespLimits.UnauthenticatedMaxArguments)
                return Fail("Protocol error: unauthenticated multibulk length");
            pos = cr + 2;
            if (count <= 0)
            {
                // Redis treats "*0" and "*-1" as nothing to do.
                _count = 0;
                consumed = pos;
                Reset();
                return ParseStatus.Complete;
            }
            if (count > _limits.MaxArguments) return Fail("Protocol error: invalid multibulk length");
            expected = (int)count;
            _count = 0;
            EnsureCapacity(Math.Min(expected, 1024));
        }

        while (_count < expected)
        {
            if (pos >= buffer.Length) return Suspend(pos, expected, pos + 1);
            var rest = buffer.Slice(pos);
            int cr = rest.IndexOf((byte)'\r');
            if (cr < 0)
            {
                if (rest.Length > _limits.MaxInlineLength) return Fail("Protocol error: too big bulk count string");
                return Suspend(pos, expected, buffer.Length + 1);
            }
            // Like Redis, look at the line's first byte only once the line and the byte after its CR are here.
            if (cr + 1 >= rest.Length) return Suspend(pos, expected, (long)pos + cr + 2);
            if (rest[0] != (byte)'$' || !RespNumber.TryParse(rest.Slice(1, cr - 1), out long len) || len < 0 || len > _limits.MaxBulkLength)
            {
                if (rest[..cr].Contains((byte)0)) return WaitUntilTooBig(pos, expected, buffer.Length, "Protocol error: too big bulk count string");
                if (rest[0] != (byte)'$') return Fail($"Protocol error: expected '$', got '{(char)rest[0]}'");
                // Parsed again on this error path only: a valid length over the bound is a size limit, for the counters.
                bool overBound = RespNumber.TryParse(rest.Slice(1, cr - 1), out long asked) && asked > _limits.MaxBulkLength;
                return Fail("Protocol error: invalid bulk length", sizeLimit: overBound);
            }
            if (AuthRequired && len > RespLimits.UnauthenticatedMaxBulkLength)
                return Fail("Protocol error: unauthenticated bulk length");
            long dataStart = (long)pos + cr + 2;
            long end = dataStart + len + 2; // Redis skips the two bytes after the data without looking at them.
            if (end > _limits.MaxRequestLength) return Fail(TooBigRequest, sizeLimit: true);
            if (end > buffer.Length) return Suspend(pos, expected, end);
            if (_count == _offsets.Length) EnsureCapacity(_count + 1);
            _offsets[_count] = (int)dataStart;
            _lengths[_count] = (int)len;
            _count++;
            pos = (int)end;
        }

        consumed = pos;
        Reset();
        return ParseStatus.Complete;
    }

    private ParseStatus ReadInline(ReadOnlySpan<byte> buffer, out int consumed)
    {
        consumed = 0;
        IsInline = true;
        int nl = buffer.IndexOfAny((byte)'\n', (byte)0);
        if (nl >= 0 && buffer[nl] == 0) return WaitUntilTooBig(0, 0, buffer.Length, "Protocol error: too big inline request");
        if (nl < 0)
        {
            if (buffer.Length > _limits.MaxInlineLength) return Fail("Protocol error: too big inline request", InlineBoundIsConfigured);
            return NeedMore(buffer.Length + 1);
        }
        if (nl > _limits.MaxInlineLength) return Fail("Protocol error: too big inline request", InlineBoundIsConfigured);
        var line = buffer.Slice(0, nl);
        if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
        if (!SplitArgs(line)) return Fail("Protocol error: unbalanced quotes in request");
        consumed = nl + 1;
        Reset();
        return ParseStatus.Complete;
    }

    /// <summary>Splits an inline line into arguments exactly as Redis's sdssplitargs does (quotes and escapes).</summary>
    private bool SplitArgs(ReadOnlySpan<byte> line)
    {
        _count = 0;
        if (_inline.Length < line.Length) _inline = new byte[Math.Max(line.Length, Math.Max(256, _inline.Length * 2))];
        int w = 0;
        int i = 0;
        while (true)
        {
            while (i < line.Length && IsSpace(line[i])) i++;
            if (i >= line.Length) return true;
            int start = w;
            bool inDouble = false, inSingle = false, done = false;
            while (!done)
            {
                if (inDouble)
                {
                    if (i >= line.Length) return false;
                    byte c = line[i];
                    if (c == '\\' && i + 3 < line.Length && line[i + 1] == 'x' && IsHex(line[i + 2]) && IsHex(line[i + 3]))
                    {
                        _inline[w++] = (byte)(HexValue(line[i + 2]) * 16 + HexValue(line[i + 3]));
                        i += 3;
                    }
                    else if (c == '\\' && i + 1 < line.Length)
                    {
                        i++;
                        _inline[w++] = line[i] switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            var other => other,
                        };
                    }
                    else if (c == '"')
                    {
                        // A closing quote must be followed by a space or the end of the line.
                        if (i + 1 < line.Length && !IsSpace(line[i + 1])) return false;
                        done = true;
                    }
                    else _inline[w++] = c;
                }
                else if (inSingle)
                {
                    if (i >= line.Length) return false;
                    byte c = line[i];
                    if (c == '\\' && i + 1 < line.Length && line[i + 1] == '\'')
                    {
                        i++;
                        _inline[w++] = (byte)'\'';
                    }
                    else if (c == '\'')
                    {
                        if (i + 1 < line.Length && !IsSpace(line[i + 1])) return false;
                        done = true;
                    }
                    else _inline[w++] = c;
                }
                else
                {
                    if (i >= line.Length) { done = true; break; }
                    byte c = line[i];
                    // Unlike the blank skipping above (isspace), only these four bytes end an unquoted argument.
                    if (c is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t') done = true;
                    else if (c == '"') inDouble = true;
                    else if (c == '\'') inSingle = true;
                    else _inline[w++] = c;
                }
                if (i < line.Length) i++;
            }
            if (_count == _offsets.Length) EnsureCapacity(_count + 1);
            _offsets[_count] = start;
            _lengths[_count] = w - start;
            _count++;
        }
    }

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or (byte)'\v' or (byte)'\f';
    private static bool IsHex(byte c) => char.IsAsciiHexDigit((char)c);
    private static int HexValue(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private ParseStatus NeedMore(long needed)
    {
        _needed = needed;
        return ParseStatus.Incomplete;
    }

    private ParseStatus Suspend(int pos, int expected, long needed)
    {
        _resumePos = pos;
        _resumeExpected = expected;
        _needed = needed;
        return ParseStatus.Incomplete;
    }

    /// <summary>
    /// For a line (from <paramref name="lineStart"/>) with a NUL byte before its end: Redis finds line ends with C's
    /// strchr, which stops at the NUL, so Redis never finds this one. Nothing happens until the bytes from the line's
    /// start pass the inline bound; then the client gets <paramref name="tooBig"/>, as from Redis. A '*' or '$' line is
    /// searched for a NUL only once it failed to parse (a valid one has none), so the multibulk path never pays for it.
    /// </summary>
    private ParseStatus WaitUntilTooBig(int lineStart, int expected, int bufferLength, string tooBig) =>
        bufferLength - lineStart > _limits.MaxInlineLength
            ? Fail(tooBig)
            : Suspend(lineStart, expected, (long)lineStart + _limits.MaxInlineLength + 1);

    /// <summary>True when max_request_size made the inline bound smaller than Redis's (its error then counts as a size limit).</summary>
    private bool InlineBoundIsConfigured => _limits.MaxInlineLength < RespLimits.DefaultMaxInlineLength;

    private ParseStatus Fail(string message, bool sizeLimit = false)
    {
        Error = message;
        ErrorWasSizeLimit = sizeLimit;
        _count = 0;
        Reset();
        return ParseStatus.Error;
    }

    /// <summary>Forgets any partly read request (for a session that drops its buffer).</summary>
    public void Reset()
    {
        _resumePos = 0;
        _resumeExpected = 0;
        _needed = 0;
    }

    private void EnsureCapacity(int size)
    {
        if (_offsets.Length >= size) return;
        // Doubling, and room for the usual arguments at once at the first request.
        size = Math.Max(size, Math.Max(16, _offsets.Length * 2));
        Array.Resize(ref _offsets, size);
        Array.Resize(ref _lengths, size);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowIndex() => throw new ArgumentOutOfRangeException("index");
}
