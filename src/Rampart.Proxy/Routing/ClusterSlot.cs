namespace Rampart.Proxy.Routing;

/// <summary>
/// Redis Cluster's key slot (cluster_spec, keyHashSlot): CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the
/// key, or of its hash tag, modulo 16384. The hash-tag rule is twemproxy's with <c>{</c> and <c>}</c>
/// (<see cref="HashTag.Extract"/>): the first <c>{</c>, the first <c>}</c> after it, and a tag only when something lies
/// between them. Pure and allocation-free: it runs for every key of a cluster pool's requests.
/// </summary>
public static class ClusterSlot
{
    /// <summary>How many slots a Redis Cluster has.</summary>
    public const int Count = 16384;

    private static readonly ushort[] Table = BuildTable();

    /// <summary>The slot of <paramref name="key"/> (0 to 16383).</summary>
    public static int Of(ReadOnlySpan<byte> key) => Crc16(HashTag.Extract(key, (byte)'{', (byte)'}')) & (Count - 1);

    /// <summary>CRC16-XMODEM of <paramref name="data"/>, one table lookup per byte.</summary>
    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        ushort crc = 0;
        foreach (byte b in data) crc = (ushort)((crc << 8) ^ Table[((crc >> 8) ^ b) & 0xFF]);
        return crc;
    }

    private static ushort[] BuildTable()
    {
        var table = new ushort[256];
        for (int i = 0; i < table.Length; i++)
        {
            int crc = i << 8;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
            table[i] = (ushort)crc;
        }
        return table;
    }
}
