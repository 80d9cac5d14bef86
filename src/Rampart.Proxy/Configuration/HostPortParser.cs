using System.Globalization;
using System.Net;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// "host:port", "[v6]:port" (and, as nutcracker splits at the last colon, "::1:port"). The host is not resolved here:
/// nutcracker resolves a listen host while checking the file, but a config check must not depend on DNS.
/// Public so that Rampart.Admin reads <c>--admin-listen</c> with the config's own grammar instead of a copy of it.
/// </summary>
public static class HostPortParser
{
    public static bool TryParse(string text, out string host, out int port, out string error)
    {
        host = "";
        port = 0;
        var colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            error = $"'{text}' is not \"host:port\"";
            return false;
        }
        if (!TryParsePort(text.AsSpan(colon + 1), out port))
        {
            error = $"'{text}' has an invalid port (expected 1-65535)";
            return false;
        }
        return TryParseHost(text[..colon], out host, out error, text);
    }

    public static bool TryParsePort(ReadOnlySpan<char> text, out int port)
    {
        port = 0;
        return ScalarValues.IsDigits(text)
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port)
            && port is >= 1 and <= 65535;
    }

    /// <summary>Strips IPv6 brackets; refuses an empty host, whitespace, or brackets around something not IPv6.</summary>
    public static bool TryParseHost(string raw, out string host, out string error, string whole)
    {
        host = raw;
        error = "";
        if (raw.StartsWith('[') && raw.EndsWith(']'))
        {
            host = raw[1..^1];
            if (!IPAddress.TryParse(host, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                error = $"'{whole}' has an invalid IPv6 address in brackets";
                return false;
            }
            return true;
        }
        if (host.Length == 0 || host.Any(char.IsWhiteSpace) || host.Contains('[') || host.Contains(']'))
        {
            error = $"'{whole}' has an invalid host";
            return false;
        }
        // Without brackets a colon in the host only makes sense for an IPv6 address ("::1:6379").
        if (host.Contains(':') && !IPAddress.TryParse(host, out _))
        {
            error = $"'{whole}' has an invalid host (write IPv6 addresses as [addr]:port)";
            return false;
        }
        return true;
    }
}
