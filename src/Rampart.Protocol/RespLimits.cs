namespace Rampart.Protocol;

/// <summary>
/// Bounds on what a client may send, with Redis's own defaults (proto-max-bulk-len, PROTO_INLINE_MAX_SIZE).
/// A request over a bound is a protocol error for that client only.
/// </summary>
public sealed record RespLimits
{
    public const long DefaultMaxBulkLength = 512L * 1024 * 1024;
    public const int DefaultMaxInlineLength = 64 * 1024;

    /// <summary>
    /// Most elements in a multibulk request from a client that has still to authenticate (Redis: 10, fixed in
    /// networking.c; see <see cref="RequestReader.AuthRequired"/>).
    /// </summary>
    public const int UnauthenticatedMaxArguments = 10;

    /// <summary>Largest bulk string from a client that has still to authenticate (Redis: 16384, fixed in networking.c).</summary>
    public const int UnauthenticatedMaxBulkLength = 16 * 1024;

    public static RespLimits Default { get; } = new();

    /// <summary>Largest bulk string a client may send (Redis: proto-max-bulk-len).</summary>
    public long MaxBulkLength { get; init; } = DefaultMaxBulkLength;

    /// <summary>Longest inline command line, and longest '*' or '$' header line (Redis: PROTO_INLINE_MAX_SIZE).</summary>
    public int MaxInlineLength { get; init; } = DefaultMaxInlineLength;

    /// <summary>Most elements in one multibulk request (Redis allows up to INT_MAX).</summary>
    public int MaxArguments { get; init; } = int.MaxValue;

    /// <summary>
    /// Most bytes of one whole request, headers included (Rampart's <c>max_request_size</c>; Redis has no such bound
    /// besides its 1 GB query buffer). A multibulk request is refused at the header of the bulk that would take it
    /// over, so its body is never waited for.
    /// </summary>
    public long MaxRequestLength { get; init; } = long.MaxValue;

    /// <summary>
    /// The limits for a <c>max_request_size</c> of <paramref name="bytes"/>: no bulk, inline line or whole request
    /// may be longer (each bound stays at Redis's default when that is smaller).
    /// </summary>
    public static RespLimits ForMaxRequestSize(long bytes) => new()
    {
        MaxBulkLength = Math.Min(bytes, DefaultMaxBulkLength),
        MaxInlineLength = (int)Math.Min(bytes, DefaultMaxInlineLength),
        MaxRequestLength = bytes,
    };
}
