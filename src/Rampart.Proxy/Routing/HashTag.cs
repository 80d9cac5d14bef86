namespace Rampart.Proxy.Routing;

/// <summary>
/// twemproxy's <c>hash_tag:</c> (server_pool_idx in nc_server.c): hash only the part of a key between two characters.
/// </summary>
public static class HashTag
{
    /// <summary>
    /// The bytes of <paramref name="key"/> that twemproxy hashes for the tag <paramref name="open"/>,
    /// <paramref name="close"/>. Exactly its rules:
    /// <list type="bullet">
    /// <item>find the first <paramref name="open"/> in the key; if none, the whole key;</item>
    /// <item>find the first <paramref name="close"/> after it; if none, the whole key;</item>
    /// <item>if nothing lies between them (an empty tag such as "a{}b"), the whole key — twemproxy does not look for
    /// a later close character or a later tag;</item>
    /// <item>otherwise the bytes between them. "{a}{b}" hashes "a"; "{{a}}" hashes "{a"; with open == close
    /// ("$$"), "x$ab$y" hashes "ab".</item>
    /// </list>
    /// </summary>
    public static ReadOnlySpan<byte> Extract(ReadOnlySpan<byte> key, byte open, byte close)
    {
        int start = key.IndexOf(open);
        if (start < 0) return key;
        int length = key.Slice(start + 1).IndexOf(close);
        if (length <= 0) return key; // no close character (-1), or an empty tag (0)
        return key.Slice(start + 1, length);
    }
}
