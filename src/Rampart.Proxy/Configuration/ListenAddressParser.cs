namespace Rampart.Proxy.Configuration;

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
