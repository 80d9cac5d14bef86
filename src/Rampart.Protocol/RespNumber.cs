namespace Rampart.Protocol;

/// <summary>Integer parsing with Redis's own strictness (string2ll): no '+', no leading zeros, no spaces.</summary>
public static class RespNumber
{
    public static bool TryParse(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        if (s.Length == 0 || s.Length > 20) return false;
        int i = 0;
        bool negative = false;
        if (s[0] == (byte)'-')
        {
            negative = true;
            i = 1;
            if (s.Length == 1) return false;
        }
        if (s[i] == (byte)'0')
        {
            // "0" is the only number that may start with a zero; "-0" is refused as Redis does.
            if (s.Length == 1) return true;
            return false;
        }
        ulong v = 0;
        for (; i < s.Length; i++)
        {
            uint d = (uint)(s[i] - (byte)'0');
            if (d > 9) return false;
            if (v > (ulong.MaxValue - d) / 10) return false;
            v = v * 10 + d;
        }
        if (negative)
        {
            if (v > (ulong)long.MaxValue + 1) return false;
            value = (long)(0 - v);
            return true;
        }
        if (v > long.MaxValue) return false;
        value = (long)v;
        return true;
    }
}
