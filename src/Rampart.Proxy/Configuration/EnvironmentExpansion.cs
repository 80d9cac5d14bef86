namespace Rampart.Proxy.Configuration;

/// <summary>
/// <c>${VAR}</c> and <c>${VAR:-default}</c> in a scalar value, as in Docker Compose; <c>$${</c> writes a literal
/// <c>${</c>. Invariant: a text without <c>${</c> is returned unchanged (the same string), so every nutcracker.yml reads
/// exactly as before; an error names the variable or the column, never a value (a value may be a secret, from the file
/// or from the environment).
/// </summary>
internal static class EnvironmentExpansion
{
    /// <summary>The process environment: what <c>rampart serve</c> and <c>rampart check</c> expand from.</summary>
    public static readonly Func<string, string?> Process = Environment.GetEnvironmentVariable;

    /// <returns>The expanded text, or null with <paramref name="error"/> set.</returns>
    public static string? Expand(string text, Func<string, string?> environment, out string? error)
    {
        error = null;
        if (!text.Contains("${", StringComparison.Ordinal)) return text;

        var result = new System.Text.StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            if (text[i] != '$')
            {
                result.Append(text[i++]);
                continue;
            }
            if (string.CompareOrdinal(text, i, "$${", 0, 3) == 0)
            {
                result.Append("${");
                i += 3;
                continue;
            }
            if (string.CompareOrdinal(text, i, "${", 0, 2) != 0)
            {
                result.Append(text[i++]);
                continue;
            }
            int close = text.IndexOf('}', i + 2);
            if (close < 0)
            {
                error = $"'${{' at column {i + 1} of the value has no closing '}}' (write $${{ for a literal ${{)";
                return null;
            }
            var inside = text.AsSpan(i + 2, close - i - 2);
            int dash = inside.IndexOf(":-", StringComparison.Ordinal);
            var name = (dash < 0 ? inside : inside[..dash]).ToString();
            if (!IsName(name))
            {
                error = $"'${{' at column {i + 1} of the value must be followed by a variable name (letters, digits, _) and "
                    + "'}' or ':-default}' (write $${ for a literal ${)";
                return null;
            }
            var value = environment(name);
            if (string.IsNullOrEmpty(value))
            {
                if (dash < 0)
                {
                    error = value is null
                        ? $"environment variable {name} is not set (write ${{{name}:-default}} for a default)"
                        : $"environment variable {name} is empty (write ${{{name}:-default}} for a default)";
                    return null;
                }
                value = inside[(dash + 2)..].ToString();
            }
            result.Append(value);
            i = close + 1;
        }
        return result.ToString();
    }

    private static bool IsName(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0])) return false;
        foreach (var c in name)
            if (!char.IsAsciiLetterOrDigit(c) && c != '_') return false;
        return true;
    }
}
