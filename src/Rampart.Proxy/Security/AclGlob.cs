namespace Rampart.Proxy.Security;

/// <summary>
/// Redis's glob matcher (util.c stringmatchlen, case-sensitive), ported line for line so that an ACL pattern admits
/// exactly the keys and channels Redis would: <c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[^abc]</c>, <c>[a-z]</c> (reversed
/// ranges too), backslash escapes, and Redis's quirks (an unterminated <c>[</c>, an empty text never matching
/// <c>*</c>). Recursion happens only at a <c>*</c> of the pattern (from the configuration, not from clients), is
/// bounded by Redis's nesting limit, and Redis's skip-longer-matches rule keeps it polynomial. No allocation.
/// </summary>
public static class AclGlob
{
    private const int MaxNesting = 1000; // util.c: "Protection against abusive patterns"

    public static bool Matches(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text)
    {
        bool skipLonger = false;
        return Match(pattern, text, ref skipLonger, 0);
    }

    private static bool Match(ReadOnlySpan<byte> p, ReadOnlySpan<byte> s, ref bool skipLonger, int nesting)
    {
        if (nesting > MaxNesting) return false;
        int pi = 0, si = 0;
        while (pi < p.Length && si < s.Length)
        {
            switch (p[pi])
            {
                case (byte)'*':
                    while (pi + 1 < p.Length && p[pi + 1] == '*') pi++;
                    if (pi == p.Length - 1) return true;
                    while (si < s.Length)
                    {
                        if (Match(p[(pi + 1)..], s[si..], ref skipLonger, nesting + 1)) return true;
                        // The rest of the pattern failed on a shorter suffix for a reason a longer one cannot fix.
                        if (skipLonger) return false;
                        si++;
                    }
                    skipLonger = true;
                    return false;
                case (byte)'?':
                    si++;
                    break;
                case (byte)'[':
                    if (!MatchClass(p, ref pi, s[si])) return false;
                    si++;
                    break;
                case (byte)'\\':
                    if (p.Length - pi >= 2) pi++;
                    if (p[pi] != s[si]) return false;
                    si++;
                    break;
                default:
                    if (p[pi] != s[si]) return false;
                    si++;
                    break;
            }
            pi++;
            if (si == s.Length)
            {
                while (pi < p.Length && p[pi] == '*') pi++;
                break;
            }
        }
        return pi == p.Length && si == s.Length;
    }

    /// <summary>A <c>[...]</c> class at <paramref name="pi"/> (the '['); leaves <paramref name="pi"/> on its last byte.</summary>
    private static bool MatchClass(ReadOnlySpan<byte> p, ref int pi, byte c)
    {
        pi++;
        bool not = pi < p.Length && p[pi] == '^';
        if (not) pi++;
        bool match = false;
        while (true)
        {
            int rest = p.Length - pi;
            if (rest >= 2 && p[pi] == '\\')
            {
                pi++;
                if (p[pi] == c) match = true;
            }
            else if (rest > 0 && p[pi] == ']')
            {
                break;
            }
            else if (rest == 0)
            {
                pi--; // unterminated: Redis steps back so the outer loop ends on the last byte
                break;
            }
            else if (rest >= 3 && p[pi + 1] == '-')
            {
                int start = p[pi], end = p[pi + 2];
                if (start > end) (start, end) = (end, start);
                pi += 2;
                if (c >= start && c <= end) match = true;
            }
            else if (p[pi] == c)
            {
                match = true;
            }
            pi++;
        }
        return not ? !match : match;
    }
}
