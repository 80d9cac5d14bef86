namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>A reply that differs: the command, and both replies' exact bytes (null when no reply came).</summary>
public sealed record Difference(CorpusCommand Command, byte[]? Direct, byte[]? Rampart, string? Note = null)
{
    private const int Shown = 400;

    public override string ToString() =>
        $"{Command}\n    direct:  {Show(Direct)}\n    rampart: {Show(Rampart)}" + (Note is null ? "" : $"\n    ({Note})");

    private static string Show(byte[]? reply) => reply is null
        ? "(no reply)"
        : reply.Length <= Shown
            ? CorpusReader.Escape(reply)
            : CorpusReader.Escape(reply.AsSpan(0, Shown)) + $"... ({reply.Length} bytes)";
}
