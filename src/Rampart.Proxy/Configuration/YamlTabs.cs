namespace Rampart.Proxy.Configuration;

/// <summary>
/// Finds the line a tab indents. YamlDotNet reports a tab in the indentation at the start of the enclosing scalar or
/// mapping, which is the line before, or the pool's first line; a user looks for the tab on the line named.
/// </summary>
internal static class YamlTabs
{
    /// <summary>
    /// The first line (1-based), from <paramref name="fromLine"/> on, whose indentation holds a tab and that holds more
    /// than a comment; null if none.
    /// </summary>
    public static int? FirstTabIndentedLine(string text, int fromLine)
    {
        int line = 1;
        foreach (var range in text.AsSpan().Split('\n'))
        {
            var content = text.AsSpan(range);
            if (line >= fromLine)
            {
                var rest = content.TrimStart(" \t");
                bool tabbed = content[..(content.Length - rest.Length)].Contains('\t');
                rest = rest.TrimEnd('\r');
                if (tabbed && !rest.IsEmpty && rest[0] != '#') return line;
            }
            line++;
        }
        return null;
    }
}
