using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Rampart.Proxy.Configuration;

// A minimal YAML tree built from YamlDotNet parser events. We do not use YamlStream/YamlMappingNode because they throw
// on the first duplicate key, and nutcracker treats a duplicate key as one error among others ("is a duplicate"); our
// own mapping keeps every entry, in order, with its line, so the readers can report all problems in one pass.
// Parser events need no reflection, so this is Native-AOT safe.

internal abstract record YamlNode(int Line);

/// <summary>
/// A scalar. <see cref="IsNull"/> is an empty plain scalar ("key:" with nothing after it). "~" and "null" stay text,
/// as in nutcracker, which never interprets scalars: <c>redis_auth: null</c> is the password "null".
/// </summary>
internal sealed record YamlScalar(int Line, string Value, bool IsPlain) : YamlNode(Line)
{
    public bool IsNull => IsPlain && Value.Length == 0;
}

internal sealed record YamlSequence(int Line, IReadOnlyList<YamlNode> Items) : YamlNode(Line);

internal sealed record YamlEntry(YamlNode Key, YamlNode Value)
{
    /// <summary>The key's text, or null when the key is not a scalar (a complex key, which no setting uses).</summary>
    public string? Name => (Key as YamlScalar)?.Value;
}

internal sealed record YamlMapping(int Line, IReadOnlyList<YamlEntry> Entries) : YamlNode(Line);

internal static class YamlTreeReader
{
    /// <summary>
    /// Reads the single document of <paramref name="text"/>. Returns null for an empty file or after a syntax error,
    /// which is reported with its line (YamlDotNet stops at the first syntax error, so there is at most one).
    /// </summary>
    public static YamlNode? Read(string text, ErrorSink errors)
    {
        var parser = new Parser(new StringReader(text));
        try
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
                return null;

            parser.Consume<DocumentStart>();
            var root = ReadNode(parser, errors);
            parser.Consume<DocumentEnd>();

            // nutcracker refuses files with more than one document (conf_validate_document); so do we.
            if (parser.Accept<DocumentStart>(out var second))
                errors.Add(LineOf(second.Start), "the file must contain exactly one YAML document; found a second one");
            return root;
        }
        catch (YamlException e)
        {
            errors.Add(LineOf(e.Start), "YAML syntax error: " + StripMarks(e.Message));
            return null;
        }
    }

    private static YamlNode ReadNode(IParser parser, ErrorSink errors)
    {
        var ev = parser.Current ?? throw new YamlException("unexpected end of the YAML stream");
        if (ev is NodeEvent { Anchor.IsEmpty: false } anchored)
        {
            // nutcracker refuses anchors and aliases (conf_validate_tokens); supporting them would let a Rampart file
            // silently stop being a valid nutcracker file, for little gain in files this small.
            errors.Add(LineOf(anchored.Start), "YAML anchors (&name) are not supported");
        }

        switch (ev)
        {
            case Scalar s:
                parser.MoveNext();
                return new YamlScalar(LineOf(s.Start), s.Value, s.Style == ScalarStyle.Plain);

            case SequenceStart seq:
            {
                parser.MoveNext();
                var items = new List<YamlNode>();
                while (!parser.TryConsume<SequenceEnd>(out _))
                    items.Add(ReadNode(parser, errors));
                return new YamlSequence(LineOf(seq.Start), items);
            }

            case MappingStart map:
            {
                parser.MoveNext();
                var entries = new List<YamlEntry>();
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var key = ReadNode(parser, errors);
                    var value = ReadNode(parser, errors);
                    entries.Add(new YamlEntry(key, value));
                }
                return new YamlMapping(LineOf(map.Start), entries);
            }

            case AnchorAlias alias:
                parser.MoveNext();
                errors.Add(LineOf(alias.Start), $"YAML aliases (*{alias.Value}) are not supported");
                return new YamlScalar(LineOf(alias.Start), "", IsPlain: true);

            default:
                throw new YamlException(ev.Start, ev.End, $"unexpected YAML event {ev.GetType().Name}");
        }
    }

    private static int LineOf(Mark mark) => (int)Math.Max(mark.Line, 0);

    /// <summary>YamlException messages start with "(Line: 3, Col: 1, Idx: 20) - (...): "; the line is already ours.</summary>
    private static string StripMarks(string message)
    {
        var i = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith('(') && i >= 0 ? message[(i + 3)..] : message;
    }
}
