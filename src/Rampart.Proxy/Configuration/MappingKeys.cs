namespace Rampart.Proxy.Configuration;

/// <summary>
/// Walks the keys of one mapping (a pool, the sentinel block, the rampart block): reports non-scalar keys, duplicate
/// keys (nutcracker: "is a duplicate") and unknown keys (nutcracker: "is unknown"), and yields the rest.
/// </summary>
internal static class MappingKeys
{
    /// <param name="context">Who owns the mapping, for messages: "pool 'alpha'", "rampart admin".</param>
    public static List<(string Name, YamlEntry Entry)> Known(
        YamlMapping mapping, IReadOnlyCollection<string> known, string context, ErrorSink errors)
    {
        var result = new List<(string, YamlEntry)>();
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in mapping.Entries)
        {
            if (entry.Name is not { } name)
            {
                errors.Add(entry.Key.Line, $"{context}: keys must be plain names, not lists or mappings");
                continue;
            }
            if (!known.Contains(name))
            {
                var suggestion = KeySuggester.Closest(name, known);
                errors.Add(entry.Key.Line, $"unknown key '{name}' in {context}"
                    + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)"));
                continue;
            }
            if (firstLine.TryGetValue(name, out var first))
            {
                errors.Add(entry.Key.Line, $"{context}: key '{name}' is a duplicate (first at line {first})");
                continue;
            }
            firstLine[name] = entry.Key.Line;
            result.Add((name, entry));
        }
        return result;
    }
}

/// <summary>Suggests the known key nearest to a misspelt one, by edit distance.</summary>
internal static class KeySuggester
{
    public static string? Closest(string name, IEnumerable<string> known)
    {
        // Allow about one edit per three characters: "servrs" -> "servers", but "foo" suggests nothing.
        var limit = Math.Max(1, name.Length / 3);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var d = Distance(name.ToLowerInvariant(), candidate);
            if (d <= limit && d < bestDistance)
            {
                best = candidate;
                bestDistance = d;
            }
        }
        return best;
    }

    /// <summary>Levenshtein distance with two rows.</summary>
    internal static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
