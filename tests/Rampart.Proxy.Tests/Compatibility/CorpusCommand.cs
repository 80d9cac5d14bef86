using System.Text;

namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>One command of the differential corpus: its arguments as exact bytes, and where it was written.</summary>
public sealed record CorpusCommand(string Source, int Line, byte[][] Args)
{
    public string Name => Encoding.ASCII.GetString(Args[0]).ToUpperInvariant();

    /// <summary>The argument at <paramref name="index"/> upper-cased as text, or "" when there is none.</summary>
    public string Arg(int index) => index < Args.Length ? Encoding.Latin1.GetString(Args[index]).ToUpperInvariant() : "";

    /// <summary>
    /// How many frames the command answers with: one, except the subscribe family, which confirms each channel
    /// named with a frame of its own (an unsubscribe naming none answers one frame when nothing is subscribed; the
    /// corpus never sends it otherwise).
    /// </summary>
    public int Frames => Name is "SUBSCRIBE" or "UNSUBSCRIBE" or "PSUBSCRIBE" or "PUNSUBSCRIBE" or "SSUBSCRIBE" or "SUNSUBSCRIBE"
        ? Math.Max(1, Args.Length - 1)
        : 1;

    /// <summary>The command as a line a reader can paste into redis-cli (non-printable bytes escaped).</summary>
    public override string ToString() => $"{Source}:{Line}: {string.Join(' ', Args.Select(CorpusReader.Quote))}";
}
