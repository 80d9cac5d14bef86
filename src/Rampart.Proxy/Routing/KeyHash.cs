using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Rampart.Proxy.Routing;

/// <summary>
/// twemproxy's key hash functions (src/hashkit), bit for bit, quirks included. Pure and allocation-free.
/// </summary>
/// <remarks>
/// Quirks kept on purpose, because placement must equal nutcracker's:
/// <list type="bullet">
/// <item>twemproxy reads key bytes through <c>const char*</c>, which is signed on x86-64 (the build everyone runs),
/// so one_at_a_time, the four fnv variants and hsieh's 3-byte tail sign-extend bytes ≥ 0x80
/// (0x80 becomes 0xFFFFFF80). crc32 also reads a signed char but masks it, so it is unaffected.</item>
/// <item>fnv1a_64 is computed in 32-bit arithmetic: a uint32 state seeded with the low half of the 64-bit offset
/// basis (0x84222325) and multiplied by the low half of the 64-bit prime (0x1b3). fnv1_64 really is 64-bit and
/// returns the low 32 bits.</item>
/// <item>crc32 is libmemcached's: <c>((~crc) &gt;&gt; 16) &amp; 0x7fff</c>, a 15-bit value. crc32a is the real CRC-32.</item>
/// <item>murmur is MurmurHash2 with seed <c>0xdeadbeef * length</c>; jenkins is lookup3 hashlittle with
/// initval 13 (so an empty key hashes to 0xdeadbeef + 13); hsieh returns 0 for an empty key.</item>
/// <item>md5 is the little-endian uint32 of the first 4 digest bytes.</item>
/// <item>crc16 is nutcracker 0.5.0's: CCITT/XMODEM table with an unmasked uint32 state (values above 16 bits).</item>
/// </list>
/// The router never hashes an empty key: twemproxy's server_pool_hash returns 0 for keylen 0 before calling these.
/// </remarks>
public static class KeyHash
{
    public static uint Compute(HashKind kind, ReadOnlySpan<byte> key) => kind switch
    {
        HashKind.OneAtATime => OneAtATime(key),
        HashKind.Md5 => Md5(key),
        HashKind.Crc16 => Crc16(key),
        HashKind.Crc32 => Crc32(key),
        HashKind.Crc32a => Crc32a(key),
        HashKind.Fnv1_64 => Fnv1_64(key),
        HashKind.Fnv1a_64 => Fnv1a_64(key),
        HashKind.Fnv1_32 => Fnv1_32(key),
        HashKind.Fnv1a_32 => Fnv1a_32(key),
        HashKind.Hsieh => Hsieh(key),
        HashKind.Murmur => Murmur(key),
        HashKind.Jenkins => Jenkins(key),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>A key byte as twemproxy's <c>(uint32_t)(char)</c> sees it on x86-64: sign-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint SignedChar(byte b) => (uint)(sbyte)b;

    /// <summary>nc_one_at_a_time.c (Jenkins one-at-a-time, signed chars).</summary>
    public static uint OneAtATime(ReadOnlySpan<byte> key)
    {
        uint value = 0;
        foreach (byte b in key)
        {
            value += SignedChar(b);
            value += value << 10;
            value ^= value >> 6;
        }
        value += value << 3;
        value ^= value >> 11;
        value += value << 15;
        return value;
    }

    /// <summary>nc_md5.c hash_md5: the first four digest bytes, little-endian.</summary>
    public static uint Md5(ReadOnlySpan<byte> key)
    {
        Span<byte> digest = stackalloc byte[16];
        MD5.HashData(key, digest);
        return BinaryPrimitives.ReadUInt32LittleEndian(digest);
    }

    /// <summary>
    /// nutcracker 0.5.0's hash_crc16: the CCITT/XMODEM table (poly 0x1021, as Redis Cluster), but with a uint32 state
    /// that is never masked to 16 bits, so after two bytes the result carries bits above 16 (and the low 16 bits are
    /// CRC-16/XMODEM). Later twemproxy sources carry a different (ARC) crc16; the installed 0.5.0 binary is the truth.
    /// </summary>
    public static uint Crc16(ReadOnlySpan<byte> key)
    {
        ReadOnlySpan<ushort> table = Tables.Crc16;
        uint crc = 0;
        foreach (byte b in key) crc = (crc << 8) ^ table[(int)(((crc >> 8) ^ b) & 0xff)];
        return crc;
    }

    /// <summary>nc_crc32.c hash_crc32: libmemcached's variant, 15 bits.</summary>
    public static uint Crc32(ReadOnlySpan<byte> key)
    {
        ReadOnlySpan<uint> table = Tables.Crc32;
        uint crc = uint.MaxValue;
        foreach (byte b in key) crc = (crc >> 8) ^ table[(int)((crc ^ b) & 0xff)];
        return (~crc >> 16) & 0x7fff;
    }

    /// <summary>nc_crc32.c hash_crc32a: standard CRC-32 (IEEE).</summary>
    public static uint Crc32a(ReadOnlySpan<byte> key)
    {
        ReadOnlySpan<uint> table = Tables.Crc32;
        uint crc = ~0u;
        foreach (byte b in key) crc = table[(int)((crc ^ b) & 0xff)] ^ (crc >> 8);
        return ~crc;
    }

    /// <summary>nc_fnv.c hash_fnv1_64: 64-bit FNV-1 on signed chars, low 32 bits.</summary>
    public static uint Fnv1_64(ReadOnlySpan<byte> key)
    {
        ulong hash = 0xcbf29ce484222325UL;
        foreach (byte b in key)
        {
            hash *= 0x100000001b3UL;
            hash ^= (ulong)(long)(sbyte)b;
        }
        return (uint)hash;
    }

    /// <summary>nc_fnv.c hash_fnv1a_64: FNV-1a with the 64-bit constants truncated to 32 bits, 32-bit state.</summary>
    public static uint Fnv1a_64(ReadOnlySpan<byte> key)
    {
        uint hash = unchecked((uint)0xcbf29ce484222325UL);
        foreach (byte b in key)
        {
            hash ^= SignedChar(b);
            hash *= unchecked((uint)0x100000001b3UL);
        }
        return hash;
    }

    /// <summary>nc_fnv.c hash_fnv1_32.</summary>
    public static uint Fnv1_32(ReadOnlySpan<byte> key)
    {
        uint hash = 2166136261u;
        foreach (byte b in key)
        {
            hash *= 16777619u;
            hash ^= SignedChar(b);
        }
        return hash;
    }

    /// <summary>nc_fnv.c hash_fnv1a_32.</summary>
    public static uint Fnv1a_32(ReadOnlySpan<byte> key)
    {
        uint hash = 2166136261u;
        foreach (byte b in key)
        {
            hash ^= SignedChar(b);
            hash *= 16777619u;
        }
        return hash;
    }

    /// <summary>nc_hsieh.c (Paul Hsieh's SuperFastHash; the 3-byte tail's last byte is a signed char).</summary>
    public static uint Hsieh(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty) return 0;
        uint hash = 0;
        int rem = key.Length & 3;
        int blocks = key.Length >> 2;
        int p = 0;
        for (; blocks > 0; blocks--)
        {
            hash += Get16(key, p);
            uint tmp = (Get16(key, p + 2) << 11) ^ hash;
            hash = (hash << 16) ^ tmp;
            p += 4;
            hash += hash >> 11;
        }
        switch (rem)
        {
            case 3:
                hash += Get16(key, p);
                hash ^= hash << 16;
                hash ^= SignedChar(key[p + 2]) << 18;
                hash += hash >> 11;
                break;
            case 2:
                hash += Get16(key, p);
                hash ^= hash << 11;
                hash += hash >> 17;
                break;
            case 1:
                hash += key[p];
                hash ^= hash << 10;
                hash += hash >> 1;
                break;
        }
        hash ^= hash << 3;
        hash += hash >> 5;
        hash ^= hash << 4;
        hash += hash >> 17;
        hash ^= hash << 25;
        hash += hash >> 6;
        return hash;

        static uint Get16(ReadOnlySpan<byte> k, int i) => ((uint)k[i + 1] << 8) + k[i];
    }

    /// <summary>nc_murmur.c: MurmurHash2, seed 0xdeadbeef * length, little-endian blocks.</summary>
    public static uint Murmur(ReadOnlySpan<byte> key)
    {
        const uint m = 0x5bd1e995;
        const int r = 24;
        uint length = (uint)key.Length;
        uint h = (0xdeadbeef * length) ^ length;
        int p = 0;
        int remaining = key.Length;
        while (remaining >= 4)
        {
            uint k = BinaryPrimitives.ReadUInt32LittleEndian(key.Slice(p));
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
            p += 4;
            remaining -= 4;
        }
        switch (remaining)
        {
            case 3:
                h ^= (uint)key[p + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)key[p + 1] << 8;
                goto case 1;
            case 1:
                h ^= key[p];
                h *= m;
                break;
        }
        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return h;
    }

    /// <summary>
    /// nc_jenkins.c: Bob Jenkins' lookup3 hashlittle, initval 13. Its aligned and unaligned paths agree on a
    /// little-endian machine, so this reads bytes little-endian.
    /// </summary>
    public static uint Jenkins(ReadOnlySpan<byte> key)
    {
        uint a, b, c;
        a = b = c = 0xdeadbeef + (uint)key.Length + 13;
        int p = 0;
        int length = key.Length;
        while (length > 12)
        {
            a += BinaryPrimitives.ReadUInt32LittleEndian(key.Slice(p));
            b += BinaryPrimitives.ReadUInt32LittleEndian(key.Slice(p + 4));
            c += BinaryPrimitives.ReadUInt32LittleEndian(key.Slice(p + 8));
            // mix(a,b,c)
            a -= c; a ^= Rot(c, 4); c += b;
            b -= a; b ^= Rot(a, 6); a += c;
            c -= b; c ^= Rot(b, 8); b += a;
            a -= c; a ^= Rot(c, 16); c += b;
            b -= a; b ^= Rot(a, 19); a += c;
            c -= b; c ^= Rot(b, 4); b += a;
            length -= 12;
            p += 12;
        }
        if (length == 0) return c;
        // The last block: all the cases fall through.
        ReadOnlySpan<byte> k = key.Slice(p, length);
        if (length >= 12) c += (uint)k[11] << 24;
        if (length >= 11) c += (uint)k[10] << 16;
        if (length >= 10) c += (uint)k[9] << 8;
        if (length >= 9) c += k[8];
        if (length >= 8) b += (uint)k[7] << 24;
        if (length >= 7) b += (uint)k[6] << 16;
        if (length >= 6) b += (uint)k[5] << 8;
        if (length >= 5) b += k[4];
        if (length >= 4) a += (uint)k[3] << 24;
        if (length >= 3) a += (uint)k[2] << 16;
        if (length >= 2) a += (uint)k[1] << 8;
        a += k[0];
        // final(a,b,c)
        c ^= b; c -= Rot(b, 14);
        a ^= c; a -= Rot(c, 11);
        b ^= a; b -= Rot(a, 25);
        c ^= b; c -= Rot(b, 16);
        a ^= c; a -= Rot(c, 4);
        b ^= a; b -= Rot(a, 14);
        c ^= b; c -= Rot(b, 24);
        return c;

        static uint Rot(uint x, int k) => (x << k) | (x >> (32 - k));
    }

    /// <summary>
    /// nc_ketama.c ketama_hash for alignments 0..3 at once: the four little-endian uint32s of the md5 digest.
    /// </summary>
    internal static void Md5Points(ReadOnlySpan<byte> input, Span<uint> points4)
    {
        Span<byte> digest = stackalloc byte[16];
        MD5.HashData(input, digest);
        for (int x = 0; x < 4; x++) points4[x] = BinaryPrimitives.ReadUInt32LittleEndian(digest.Slice(x * 4));
    }

    private static class Tables
    {
        public static readonly ushort[] Crc16 = BuildCrc16();
        public static readonly uint[] Crc32 = BuildCrc32();

        // Same values as the literal tables in nc_crc16.c / nc_crc32.c (checked by the known-answer tests).
        private static ushort[] BuildCrc16()
        {
            var t = new ushort[256];
            for (int i = 0; i < 256; i++)
            {
                int c = i << 8;
                for (int j = 0; j < 8; j++) c = (c & 0x8000) != 0 ? (c << 1) ^ 0x1021 : c << 1;
                t[i] = (ushort)c;
            }
            return t;
        }

        private static uint[] BuildCrc32()
        {
            var t = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int j = 0; j < 8; j++) c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
                t[i] = c;
            }
            return t;
        }
    }
}
