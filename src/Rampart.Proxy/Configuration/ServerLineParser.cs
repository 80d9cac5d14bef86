namespace Rampart.Proxy.Configuration;

/// <summary>
/// One entry of <c>servers:</c>, as nutcracker's conf_add_server: "host:port:weight [name]" or
/// "/unix/path:weight [name]". A unix entry is kept with the path in Host and Port 0 (see
/// <see cref="ServerConfig.IsUnix"/>), since Redis listens on unix sockets too.
/// </summary>
internal static class ServerLineParser
{
    private const string Format = "expected \"host:port:weight [name]\" or \"/unix/path:weight [name]\"";

    public static bool TryParse(string text, int line, out ServerConfig? server, out string error)
    {
        server = null;
        error = "";

        // nutcracker splits the name off at the last space; a name with spaces would make the address part
        // end in a space, which it rejects as a bad weight. We say why instead.
        var trimmed = text.Trim();
        string address = trimmed;
        string? name = null;
        var space = trimmed.IndexOfAny([' ', '\t']);
        if (space >= 0)
        {
            address = trimmed[..space];
            name = trimmed[(space + 1)..].Trim();
            if (name.Any(char.IsWhiteSpace))
            {
                error = $"'{text}': the server name must be one word";
                return false;
            }
        }

        var weightColon = address.LastIndexOf(':');
        if (weightColon < 0)
        {
            error = $"'{text}' is not a server line ({Format})";
            return false;
        }
        var weightText = address[(weightColon + 1)..];
        if (!ScalarValues.IsDigits(weightText) || !int.TryParse(weightText, out var weight) || weight <= 0)
        {
            error = $"'{text}' has an invalid weight '{weightText}' (expected a whole number >= 1)";
            return false;
        }
        var hostPort = address[..weightColon];

        if (hostPort.StartsWith('/'))
        {
            server = new ServerConfig { Host = hostPort, Port = 0, Weight = weight, Name = name, Line = line };
            return true;
        }

        if (!hostPort.Contains(':'))
        {
            error = $"'{text}' is not a server line ({Format})";
            return false;
        }
        if (!HostPortParser.TryParse(hostPort, out var host, out var port, out error))
        {
            error = $"server {error}; {Format}";
            return false;
        }
        server = new ServerConfig { Host = host, Port = port, Weight = weight, Name = name, Line = line };
        return true;
    }

}
