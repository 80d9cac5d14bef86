using System.Globalization;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// Turns a setting's YAML value into a typed value with nutcracker's rules, or reports why it cannot. Every method
/// returns null after reporting an error at the value's line, so callers keep the default and carry on.
/// Like nutcracker, the scalar's text is used whatever its quoting: <c>timeout: "400"</c> is 400.
/// </summary>
internal sealed class ScalarValues(ErrorSink errors, string context)
{
    public ErrorSink Errors => errors;
    public string Context => context;

    /// <summary>A non-empty scalar's text.</summary>
    public YamlScalar? Scalar(string key, YamlNode value)
    {
        if (value is not YamlScalar scalar)
        {
            errors.Add(value.Line, $"{context}: {key} must be a single value, not a list or mapping");
            return null;
        }
        if (scalar.IsNull || scalar.Value.Length == 0)
        {
            errors.Add(value.Line, $"{context}: {key} has no value");
            return null;
        }
        return scalar;
    }

    public string? String(string key, YamlNode value) => Scalar(key, value)?.Value;

    /// <summary>Exactly "true" or "false", as nutcracker's conf_set_bool (so not yes/no/on/off/True).</summary>
    public bool? Bool(string key, YamlNode value)
    {
        if (Scalar(key, value) is not { } s) return null;
        switch (s.Value)
        {
            case "true": return true;
            case "false": return false;
            default:
                errors.Add(s.Line, $"{context}: {key} must be true or false, got '{s.Shown}'");
                return null;
        }
    }

    /// <summary>
    /// Decimal digits only, as nutcracker's nc_atoi (no sign, no hex), between <paramref name="min"/> and
    /// <paramref name="max"/>.
    /// </summary>
    public int? Int(string key, YamlNode value, int min, string what, int max = int.MaxValue)
    {
        if (Scalar(key, value) is not { } s) return null;
        if (!IsDigits(s.Value) || !int.TryParse(s.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || n < min || n > max)
        {
            var range = max != int.MaxValue ? $"a whole number from {min} to {max}" : min == 0 ? "a whole number >= 0" : $"a whole number >= {min}";
            errors.Add(s.Line, $"{context}: {key} must be {range} ({what}), got '{s.Shown}'");
            return null;
        }
        return n;
    }

    /// <summary>
    /// A size in bytes: digits, optionally with Redis's config units (k=1000, kb=1024, m, mb, g, gb; any case), so
    /// "64mb" means the same here as in redis.conf. Must be positive: every buffer has a bound.
    /// </summary>
    public long? Size(string key, YamlNode value)
    {
        if (Scalar(key, value) is not { } s) return null;
        if (TryParseSize(s.Value, out var bytes) && bytes > 0) return bytes;
        errors.Add(s.Line, $"{context}: {key} must be a positive size in bytes, such as 67108864 or 64mb, got '{s.Shown}'");
        return null;
    }

    internal static bool TryParseSize(string text, out long bytes) =>
        TryParseWithUnit(text.ToLowerInvariant(), unit => unit switch
        {
            "" or "b" => 1,
            "k" => 1000,
            "kb" => 1024,
            "m" => 1000 * 1000,
            "mb" => 1024 * 1024,
            "g" => 1000L * 1000 * 1000,
            "gb" => 1024L * 1024 * 1024,
            _ => 0,
        }, out bytes);

    /// <summary>
    /// Digits then a unit <paramref name="unitOf"/> knows (its multiplier; 0 for an unknown unit), as in "64mb" or
    /// "500ms"; false on anything else or an overflow.
    /// </summary>
    internal static bool TryParseWithUnit(string text, Func<string, long> unitOf, out long value)
    {
        value = 0;
        var digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits])) digits++;
        long unit = unitOf(text[digits..]);
        if (digits == 0 || unit == 0
            || !long.TryParse(text.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || n > long.MaxValue / unit)
            return false;
        value = n * unit;
        return true;
    }

    internal static bool IsDigits(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty) return false;
        foreach (var c in s)
            if (!char.IsAsciiDigit(c)) return false;
        return true;
    }
}
