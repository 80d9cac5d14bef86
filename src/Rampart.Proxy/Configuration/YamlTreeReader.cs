using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// Builds a <see cref="YamlNode"/> tree from YamlDotNet parser events (no reflection, so Native-AOT safe).
/// Invariant: whatever the text, it returns a tree at most <see cref="ConfigLimits.MaxDepth"/> deep with at most
/// <see cref="ConfigLimits.MaxNodes"/> nodes, or null with an error that has a line; it never recurses (open lists and
/// mappings are an explicit stack), never throws, and stops pulling events at the first node over a bound, so the lazy
/// parser never runs over the rest of a hostile file. Every scalar except a mapping's key goes through
/// <see cref="EnvironmentExpansion"/> once, here, so every setting accepts <c>${VAR}</c>.
/// </summary>
internal static class YamlTreeReader
{
    /// <summary>
    /// Reads the single document of <paramref name="text"/>. Returns null for an empty file or after a syntax error or a
    /// crossed bound, which is reported with its line (YamlDotNet stops at the first syntax error, so there is at most one).
    /// </summary>
    public static YamlNode? Read(string text, ErrorSink errors) => Read(text, errors, EnvironmentExpansion.Process);

    /// <inheritdoc cref="Read(string, ErrorSink)"/>
    /// <param name="environment">Where <c>${VAR}</c> takes its value from (the process environment, or a test's).</param>
    public static YamlNode? Read(string text, ErrorSink errors, Func<string, string?> environment)
    {
        var parser = new Parser(new StringReader(text));
        int lastLine = LastLine(text);
        try
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
                return null;

            parser.Consume<DocumentStart>();
            var root = ReadRoot(parser, errors, lastLine, environment);
            if (root is null)
                return null;
            parser.Consume<DocumentEnd>();

            // nutcracker refuses files with more than one document (conf_validate_document); so do we.
            if (parser.Accept<DocumentStart>(out var second))
                errors.Add(LineOf(second.Start, lastLine), "the file must contain exactly one YAML document; found a second one");
            return root;
        }
        catch (YamlException e) when (e.Message.Contains(" tab ", StringComparison.Ordinal)
            && YamlTabs.FirstTabIndentedLine(text, LineOf(e.Start, lastLine)) is int tabbed)
        {
            errors.Add(tabbed, "YAML syntax error: a tab indents this line; YAML indents with spaces only");
            return null;
        }
        catch (YamlException e)
        {
            errors.Add(LineOf(e.Start, lastLine), "YAML syntax error: " + StripMarks(e.Message));
            return null;
        }
        catch (Exception e)
        {
            // YamlDotNet 18.1 throws InvalidOperationException, with no position, for some syntax errors (a flow list
            // continued at column 0). Whatever it throws is an error of the file, placed at the last node read.
            int line = parser.Current is { } last ? LineOf(last.Start, lastLine) : 0;
            errors.Add(line, $"YAML syntax error here or just after (the YAML reader failed with {e.GetType().Name}: {e.Message})");
            return null;
        }
    }

    /// <summary>
    /// Reads one node and everything inside it, leaving the parser on the event after it. Null when a bound is crossed
    /// (the error is added).
    /// </summary>
    private static YamlNode? ReadRoot(IParser parser, ErrorSink errors, int lastLine, Func<string, string?> environment)
    {
        var open = new Stack<OpenCollection>();
        int nodes = 0;
        while (true)
        {
            var ev = parser.Current ?? throw new YamlException("unexpected end of the YAML stream");
            YamlNode? done = null;
            if (ev is SequenceEnd or MappingEnd)
            {
                if (!open.TryPop(out var closed))
                    throw new YamlException(ev.Start, ev.End, $"unexpected YAML event {ev.GetType().Name}");
                done = closed.Close();
            }
            else
            {
                if (++nodes > ConfigLimits.MaxNodes)
                {
                    errors.Add(LineOf(ev.Start, lastLine), $"the file has more than {ConfigLimits.MaxNodes} YAML nodes (keys, values, "
                        + $"lists and mappings); the limit is {ConfigLimits.MaxNodes}");
                    return null;
                }
                if (ev is NodeEvent { Anchor.IsEmpty: false } anchored)
                {
                    // nutcracker refuses anchors and aliases (conf_validate_tokens); supporting them would let a Rampart
                    // file silently stop being a valid nutcracker file, for little gain in files this small.
                    errors.Add(LineOf(anchored.Start, lastLine), "YAML anchors (&name) are not supported");
                }
                switch (ev)
                {
                    case Scalar s:
                        // Keys are names, never expanded: "${" in a key is just text, as in nutcracker.
                        bool isKey = open.TryPeek(out var parent) && parent.IsMapping && parent.Children.Count % 2 == 0;
                        done = isKey ? new YamlScalar(LineOf(s.Start, lastLine), s.Value, s.Style == ScalarStyle.Plain)
                            : ExpandedScalar(s, errors, environment, lastLine);
                        break;
                    case AnchorAlias alias:
                        errors.Add(LineOf(alias.Start, lastLine), $"YAML aliases (*{alias.Value}) are not supported");
                        done = new YamlScalar(LineOf(alias.Start, lastLine), "", IsPlain: true);
                        break;
                    case SequenceStart or MappingStart:
                        if (open.Count == ConfigLimits.MaxDepth)
                        {
                            errors.Add(LineOf(ev.Start, lastLine), $"lists and mappings are nested more than {ConfigLimits.MaxDepth} "
                                + $"levels deep; the limit is {ConfigLimits.MaxDepth} (a configuration needs 3 or 4)");
                            return null;
                        }
                        open.Push(new OpenCollection(LineOf(ev.Start, lastLine), IsMapping: ev is MappingStart));
                        break;
                    default:
                        throw new YamlException(ev.Start, ev.End, $"unexpected YAML event {ev.GetType().Name}");
                }
            }

            parser.MoveNext();
            if (done is null)
                continue;
            if (open.Count == 0)
                return done;
            open.Peek().Children.Add(done);
        }
    }

    private static YamlScalar ExpandedScalar(Scalar s, ErrorSink errors, Func<string, string?> environment, int lastLine)
    {
        int line = LineOf(s.Start, lastLine);
        var value = EnvironmentExpansion.Expand(s.Value, environment, out var error);
        if (value is null)
        {
            errors.Add(line, error!);
            return new YamlScalar(line, "", s.Style == ScalarStyle.Plain, Written: s.Value);
        }
        return new YamlScalar(line, value, s.Style == ScalarStyle.Plain, ReferenceEquals(value, s.Value) ? null : s.Value);
    }

    /// <summary>A list or mapping whose end event has not come yet; a mapping's children alternate key, value.</summary>
    private sealed record OpenCollection(int Line, bool IsMapping)
    {
        public List<YamlNode> Children { get; } = [];

        public YamlNode Close()
        {
            if (!IsMapping)
                return new YamlSequence(Line, Children);
            var entries = new List<YamlEntry>(Children.Count / 2);
            for (int i = 0; i + 1 < Children.Count; i += 2)
                entries.Add(new YamlEntry(Children[i], Children[i + 1]));
            return new YamlMapping(Line, entries);
        }
    }

    // Every line handed out is one of the file's (see LastLine).
    private static int LineOf(Mark mark, int lastLine) => (int)Math.Clamp(mark.Line, 0, lastLine);

    /// <summary>
    /// The number of the file's last line, counting line breaks as YAML does (LF, CR LF, a lone CR, NEL, LS, PS).
    /// YamlDotNet places what it finds at the end of a file without a final line break (a syntax error, the empty value
    /// of a last key) on the line after it, which no editor can open (found by fuzzing: "[" was refused at line 2 of a
    /// one-line file); such an error is on the last line.
    /// </summary>
    private static int LastLine(string text)
    {
        int line = 1;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') continue; // CR LF is one break, counted at the LF
            if (c is '\n' or '\r' or '\u0085' or '\u2028' or '\u2029') line++;
        }
        return line;
    }

    /// <summary>YamlException messages start with "(Line: 3, Col: 1, Idx: 20) - (...): "; the line is already ours.</summary>
    private static string StripMarks(string message)
    {
        var i = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith('(') && i >= 0 ? message[(i + 3)..] : message;
    }
}
