using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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

    // Table: one byte's step. TableBehind: the step of the byte before it, carried through the next byte's shift.
    private static readonly ushort[] Table = BuildTable();
    private static readonly ushort[] TableBehind = BuildTableBehind(Table);

    /// <summary>The slot of <paramref name="key"/> (0 to 16383).</summary>
    public static int Of(ReadOnlySpan<byte> key) => Crc16(HashTag.Extract(key, (byte)'{', (byte)'}')) & (Count - 1);

    /// <summary>
    /// CRC16-XMODEM of <paramref name="data"/>, two bytes per step (slicing by two): the two lookups of a step do not
    /// wait for each other, so the chain of dependent loads that bounds the one-byte loop is half as long.
    /// </summary>
    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        // The indexes are bytes and both tables have 256 entries: no bounds check is needed.
        ref ushort step = ref MemoryMarshal.GetArrayDataReference(Table);
        ref ushort behind = ref MemoryMarshal.GetArrayDataReference(TableBehind);
        uint crc = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
            crc = (uint)(Unsafe.Add(ref behind, (byte)((crc >> 8) ^ data[i])) ^ Unsafe.Add(ref step, (byte)(crc ^ data[i + 1])));
        if (i < data.Length) crc = (ushort)((crc << 8) ^ Unsafe.Add(ref step, (byte)((crc >> 8) ^ data[i])));
        return (ushort)crc;
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

    // A byte's step followed by a zero byte's: T[T[h] >> 8] ^ (T[h] << 8), as the one-byte loop computes it.
    private static ushort[] BuildTableBehind(ushort[] table)
    {
        var behind = new ushort[256];
        for (int h = 0; h < behind.Length; h++) behind[h] = (ushort)((table[h] << 8) ^ table[table[h] >> 8]);
        return behind;
    }
}
