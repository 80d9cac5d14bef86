using System.Globalization;
using System.Net;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// "host:port", "[v6]:port" (and, as nutcracker splits at the last colon, "::1:port"). The host is not resolved here:
/// nutcracker resolves a listen host while checking the file, but a config check must not depend on DNS.
/// </summary>
internal static class HostPortParser
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

/// <summary>A pool's <c>listen:</c> value, as nutcracker's conf_set_listen reads it.</summary>
internal static class ListenAddressParser
{
    /// <summary>"host:port", "[v6]:port", "/unix/path" or "/unix/path 0666" (octal mode, at most 0777).</summary>
    public static bool TryParse(string text, out ListenAddress? address, out string error)
    {
        address = null;
        error = "";
        if (text.StartsWith('/'))
        {
            var space = text.LastIndexOf(' ');
            if (space < 0)
            {
                address = new ListenAddress { UnixPath = text };
                return true;
            }
            var path = text[..space].TrimEnd();
            var mode = text[(space + 1)..];
            // Stricter than nutcracker's strtol, which reads "abc" as mode 0: only octal digits.
            if (mode.Length == 0 || mode.Any(c => c is < '0' or > '7') || mode.Length > 4
                || Convert.ToInt32(mode, 8) is var m && m > 0x1FF)
            {
                error = $"'{text}' has an invalid file mode '{mode}' (expected octal such as 0666, at most 0777)";
                return false;
            }
            address = new ListenAddress { UnixPath = path, UnixMode = Convert.ToInt32(mode, 8) };
            return true;
        }

        if (!HostPortParser.TryParse(text, out var host, out var port, out error))
        {
            error += "; expected host:port, [ipv6]:port or /unix/path [mode]";
            return false;
        }
        address = new ListenAddress { Host = host, Port = port };
        return true;
    }
}
