using System.Net;
using System.Net.Sockets;

namespace Rampart.Proxy.Configuration;

/// <summary>
/// One entry of a pool's <c>allow:</c> list: a CIDR block ("10.0.0.0/8", "2001:db8::/32") or a single address
/// ("10.1.2.3", "::1"). An IPv4-mapped IPv6 block of prefix 96 or more ("::ffff:10.0.0.0/104") is stored as the IPv4
/// block it means, so it matches IPv4 clients on any listener.
/// </summary>
internal static class ClientNetworkParser
{
    public static bool TryParse(string text, out IPNetwork network, out string error)
    {
        network = default;
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) || addressText.Contains('%'))
        {
            error = $"'{text}' is not an IPv4 or IPv6 address or CIDR block (such as 10.0.0.0/8 or 2001:db8::/32)";
            return false;
        }
        int maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int prefix = maxPrefix;
        if (slash >= 0 && (!ScalarValues.IsDigits(text.AsSpan(slash + 1))
                           || !int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out prefix) || prefix > maxPrefix))
        {
            error = $"'{text}' has an invalid prefix length (expected /0 to /{maxPrefix})";
            return false;
        }
        var block = new IPNetwork(Masked(address, prefix), prefix);
        if (!block.BaseAddress.Equals(address))
        {
            // 10.0.0.1/8 is almost always a typo for 10.0.0.0/8 or 10.0.0.1/32; HAProxy masks it silently, we ask.
            error = $"'{text}' has bits set after the /{prefix} prefix: write {block} for the block, or {address}/{maxPrefix} for one address";
            return false;
        }
        if (address.IsIPv4MappedToIPv6 && prefix >= 96)
            block = new IPNetwork(address.MapToIPv4(), prefix - 96);
        network = block;
        error = "";
        return true;
    }

    private static IPAddress Masked(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(prefix - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }
}
