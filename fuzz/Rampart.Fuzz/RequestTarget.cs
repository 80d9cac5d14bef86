using Rampart.Protocol;

namespace Rampart.Fuzz;

/// <summary>
/// Client bytes into <see cref="RequestReader"/>, read as a session reads them (complete requests taken off the front,
/// more bytes after Incomplete). Outcomes other than a request, Incomplete or a protocol error are findings, and so are:
/// a request that claims bytes it was not given, an argument outside its request, an Incomplete that asks for no more
/// bytes than it has (a session would spin), and a different list of requests when the same bytes arrive in pieces.
/// </summary>
public static class RequestTarget
{
    // Small bounds reach the "too big" paths with small inputs; the defaults are what production runs.
    private static readonly RespLimits Small = new() { MaxInlineLength = 64, MaxBulkLength = 1024, MaxArguments = 32 };
    private static readonly RespLimits[] Limits = [RespLimits.Default, Small];

    public static void Run(ReadOnlySpan<byte> data)
    {
        foreach (var limits in Limits)
        {
            foreach (bool auth in (bool[])[false, true])
            {
                var whole = Feed(data, limits, auth, data.Length);
                // One byte at a time is quadratic in the input: only for inputs afl-fuzz keeps small anyway.
                if (data.Length <= 4096) Same(whole, Feed(data, limits, auth, 1), "one byte per read");
                Same(whole, Feed(data, limits, auth, 7), "7 bytes per read");
            }
        }
    }

    private sealed record Outcome(List<string> Requests, string End);

    private static Outcome Feed(ReadOnlySpan<byte> data, RespLimits limits, bool authRequired, int chunk)
    {
        var reader = new RequestReader(limits) { AuthRequired = authRequired };
        var requests = new List<string>();
        int start = 0, received = Math.Min(chunk, data.Length);
        while (true)
        {
            var buffer = data[start..received];
            var status = reader.TryRead(buffer, out int consumed);
            switch (status)
            {
                case ParseStatus.Complete:
                    FuzzFinding.Check(consumed >= 1 && consumed <= buffer.Length, $"consumed {consumed} of {buffer.Length} bytes");
                    requests.Add(Describe(reader, buffer[..consumed]));
                    start += consumed;
                    continue;
                case ParseStatus.Error:
                    FuzzFinding.Check(reader.Error is { Length: > 0 } e && e.StartsWith("Protocol error: ", StringComparison.Ordinal),
                        $"error text '{reader.Error}'");
                    return new Outcome(requests, "error");
                case ParseStatus.Incomplete:
                    FuzzFinding.Check(reader.NeededLength > buffer.Length,
                        $"Incomplete asks for {reader.NeededLength} bytes with {buffer.Length} in hand");
                    if (received == data.Length) return new Outcome(requests, "incomplete");
                    received = Math.Min(data.Length, received + chunk);
                    continue;
                default:
                    throw new FuzzFinding($"unknown status {status}");
            }
        }
    }

    private static string Describe(RequestReader reader, ReadOnlySpan<byte> request)
    {
        var parts = new List<string>(reader.ArgumentCount);
        for (int i = 0; i < reader.ArgumentCount; i++)
        {
            if (!reader.IsInline)
            {
                long end = (long)reader.ArgumentOffset(i) + reader.ArgumentLength(i);
                FuzzFinding.Check(reader.ArgumentOffset(i) >= 0 && end <= request.Length, $"argument {i} ends at {end}, after its request");
            }
            parts.Add(Convert.ToHexString(reader.Argument(request, i)));
        }
        return (reader.IsInline ? "inline " : "multibulk ") + string.Join(' ', parts);
    }

    private static void Same(Outcome expected, Outcome actual, string how)
    {
        // Only the requests are compared: which error ends a stream may depend on where reads split it, as in Redis
        // (a header line longer than the inline bound is "too big" before its CR arrives, "invalid" after).
        FuzzFinding.Check(expected.Requests.SequenceEqual(actual.Requests),
            $"{how}: requests differ from reading the bytes whole:\n  whole: {string.Join(" | ", expected.Requests)}\n  split: {string.Join(" | ", actual.Requests)}");
    }
}
