namespace Rampart.Proxy.Configuration;

// A minimal YAML tree, built from YamlDotNet parser events by YamlTreeReader. We do not use YamlStream/YamlMappingNode
// because they throw on the first duplicate key, and nutcracker treats a duplicate key as one error among others ("is a
// duplicate"); our own mapping keeps every entry, in order, with its line, so the readers can report all problems in
// one pass. A tree is at most ConfigLimits.MaxDepth deep, so the readers that walk it may recurse.

internal abstract record YamlNode(int Line);

/// <summary>
/// A scalar. <see cref="IsNull"/> is an empty plain scalar ("key:" with nothing after it). "~" and "null" stay text,
/// as in nutcracker, which never interprets scalars: <c>redis_auth: null</c> is the password "null".
/// <see cref="Value"/> is after <c>${VAR}</c> expansion; <see cref="Written"/> is the text as the file has it when an
/// expansion changed it (null otherwise), for error messages: a value from the environment may be a secret.
/// </summary>
internal sealed record YamlScalar(int Line, string Value, bool IsPlain, string? Written = null) : YamlNode(Line)
{
    public bool IsNull => IsPlain && Value.Length == 0 && Written is null;

    /// <summary>The text to quote in an error: as written in the file, never a value taken from the environment.</summary>
    public string Shown => Written ?? Value;
}

internal sealed record YamlSequence(int Line, IReadOnlyList<YamlNode> Items) : YamlNode(Line);

internal sealed record YamlEntry(YamlNode Key, YamlNode Value)
{
    /// <summary>The key's text, or null when the key is not a scalar (a complex key, which no setting uses).</summary>
    public string? Name => (Key as YamlScalar)?.Value;
}

internal sealed record YamlMapping(int Line, IReadOnlyList<YamlEntry> Entries) : YamlNode(Line);
