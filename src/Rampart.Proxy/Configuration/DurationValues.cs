namespace Rampart.Proxy.Configuration;

/// <summary>
/// Durations of the abuse limits (<c>client_idle_timeout</c>, <c>auth_timeout</c>, <c>auth_throttle</c>): whole
/// seconds, Redis's unit for its <c>timeout</c>, so a value copied from redis.conf means the same here; or digits with
/// a unit, <c>ms</c>, <c>s</c>, <c>m</c> or <c>h</c>, for anything else. A bare number never means milliseconds, so
/// a seconds value misread as milliseconds cannot close clients 1000 times too early.
/// </summary>
internal static class DurationValues
{
    /// <summary>Milliseconds, at least 0 and at most a day's worth (a bigger timeout is almost surely a typo), or null after an error.</summary>
    public static long? Milliseconds(this ScalarValues v, string key, YamlNode value, string what)
    {
        if (v.Scalar(key, value) is not { } s) return null;
        if (TryParse(s.Value, out long ms) && ms <= MaxMs) return ms;
        v.Errors.Add(s.Line, $"{v.Context}: {key} must be a duration: whole seconds (as Redis's timeout) or digits with ms, s, m or h, "
            + $"such as 300 or 500ms, at most 24h ({what}), got '{s.Value}'");
        return null;
    }

    private const long MaxMs = 24L * 3600 * 1000;

    internal static bool TryParse(string text, out long ms) =>
        ScalarValues.TryParseWithUnit(text, unit => unit switch
        {
            "" or "s" => 1000,
            "ms" => 1,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => 0,
        }, out ms);
}
