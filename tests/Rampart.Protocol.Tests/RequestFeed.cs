using System.Text;

namespace Rampart.Protocol.Tests;

/// <summary>What one read produced, copied out of the buffer so that different feeding orders can be compared.</summary>
internal sealed record Parsed(ParseStatus Status, int Consumed, string? Error, bool IsInline, byte[][] Args)
{
    public string[] Strings => Args.Select(a => Encoding.Latin1.GetString(a)).ToArray();

    public override string ToString() =>
        $"{Status} consumed={Consumed} inline={IsInline} error={Error} args=[{string.Join(", ", Strings.Select(s => '"' + s + '"'))}]";
}

/// <summary>
/// Feeds a request to a <see cref="RequestReader"/> the way a session does: the buffer always starts at the request,
/// and after Incomplete the same start comes back with more bytes.
/// </summary>
internal static class RequestFeed
{
    public static byte[] Bytes(string latin1) => Encoding.Latin1.GetBytes(latin1);

    public static Parsed Snapshot(RequestReader reader, ParseStatus status, int consumed, ReadOnlySpan<byte> buffer)
    {
        var args = new byte[status == ParseStatus.Complete ? reader.ArgumentCount : 0][];
        for (int i = 0; i < args.Length; i++) args[i] = reader.Argument(buffer, i).ToArray();
        return new Parsed(status, consumed, status == ParseStatus.Error ? reader.Error : null,
            status == ParseStatus.Complete && reader.IsInline, args);
    }

    /// <summary>A fresh reader; <paramref name="authRequired"/> as for a client that has still to authenticate.</summary>
    public static RequestReader NewReader(RespLimits? limits = null, bool authRequired = false) =>
        new(limits) { AuthRequired = authRequired };

    public static Parsed Whole(byte[] data, RespLimits? limits = null, bool authRequired = false) =>
        Whole(NewReader(limits, authRequired), data);

    public static Parsed Whole(RequestReader reader, byte[] data)
    {
        var status = reader.TryRead(data, out int consumed);
        return Snapshot(reader, status, consumed, data);
    }

    /// <summary>First the bytes before <paramref name="split"/>, then everything.</summary>
    public static Parsed TwoReads(byte[] data, int split, RespLimits? limits = null, bool authRequired = false)
    {
        var reader = NewReader(limits, authRequired);
        var first = data.AsSpan(0, split);
        var status = reader.TryRead(first, out int consumed);
        if (status != ParseStatus.Incomplete) return Snapshot(reader, status, consumed, first);
        status = reader.TryRead(data, out consumed);
        return Snapshot(reader, status, consumed, data);
    }

    /// <summary>A growing prefix, <paramref name="step"/> more bytes per read, until the reader stops asking for more.</summary>
    public static Parsed Growing(byte[] data, int step = 1, RespLimits? limits = null, bool authRequired = false)
    {
        var reader = NewReader(limits, authRequired);
        for (int n = Math.Min(step, data.Length); ; n = Math.Min(n + step, data.Length))
        {
            var prefix = data.AsSpan(0, n);
            var status = reader.TryRead(prefix, out int consumed);
            if (status != ParseStatus.Incomplete || n == data.Length) return Snapshot(reader, status, consumed, prefix);
        }
    }

    /// <summary>Asserts the request parses the same whole, at every two-way split, and one byte at a time.</summary>
    public static Parsed AssertSameAtEverySplit(byte[] data, RespLimits? limits = null, bool authRequired = false)
    {
        var whole = Whole(data, limits, authRequired);
        for (int split = 0; split <= data.Length; split++)
            AssertSame(whole, TwoReads(data, split, limits, authRequired), $"split at {split}");
        AssertSame(whole, Growing(data, 1, limits, authRequired), "one byte at a time");
        return whole;
    }

    public static void AssertSame(Parsed expected, Parsed actual, string how)
    {
        Assert.True(expected.Status == actual.Status && expected.Consumed == actual.Consumed
                    && expected.Error == actual.Error && expected.IsInline == actual.IsInline
                    && expected.Args.Length == actual.Args.Length
                    && expected.Args.Zip(actual.Args).All(p => p.First.AsSpan().SequenceEqual(p.Second)),
            $"{how}: expected {expected}, got {actual}");
    }
}
