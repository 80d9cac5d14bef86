using Rampart.Protocol;

namespace Rampart.Fuzz;

/// <summary>
/// Server bytes into <see cref="ReplyScanner"/>, as a server link scans them: whole replies taken off the front, and
/// while a reply is unfinished its <see cref="ReplyScanner.Passable"/> bytes handed on and discarded (or kept, in the
/// second mode). <see cref="RespProtocolException"/> is the documented outcome for bytes that are not RESP; any other
/// exception is a finding, and so are: a reply longer than the bytes given, a Passable beyond them, and reply ends that
/// differ when the same bytes arrive in pieces.
/// </summary>
public static class ReplyTarget
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        var whole = Feed(data, data.Length, discard: false);
        if (data.Length <= 4096) Same(whole, Feed(data, 1, discard: true), "one byte per read, passable discarded");
        Same(whole, Feed(data, 7, discard: true), "7 bytes per read, passable discarded");
        Same(whole, Feed(data, 7, discard: false), "7 bytes per read, passable kept");
    }

    private sealed record Outcome(List<long> Ends, bool Malformed);

    private static Outcome Feed(ReadOnlySpan<byte> data, int chunk, bool discard)
    {
        var scanner = new ReplyScanner();
        var ends = new List<long>();
        int start = 0, received = Math.Min(chunk, data.Length);
        try
        {
            while (true)
            {
                var buffer = data[start..received];
                if (scanner.TryScan(buffer, out int length))
                {
                    FuzzFinding.Check(length >= 1 && length <= buffer.Length, $"reply of {length} bytes in a buffer of {buffer.Length}");
                    start += length;
                    ends.Add(start);
                    continue;
                }
                int passable = scanner.Passable;
                FuzzFinding.Check(passable >= 0 && passable <= buffer.Length, $"passable {passable} of {buffer.Length} bytes");
                if (discard && passable > 0)
                {
                    scanner.Discard(passable);
                    start += passable;
                }
                if (received == data.Length) return new Outcome(ends, false);
                received = Math.Min(data.Length, received + chunk);
            }
        }
        catch (RespProtocolException)
        {
            return new Outcome(ends, true);
        }
    }

    private static void Same(Outcome expected, Outcome actual, string how) =>
        FuzzFinding.Check(expected.Malformed == actual.Malformed && expected.Ends.SequenceEqual(actual.Ends),
            $"{how}: reply ends [{string.Join(", ", actual.Ends)}] malformed={actual.Malformed}, "
            + $"whole: [{string.Join(", ", expected.Ends)}] malformed={expected.Malformed}");
}
