using System.Text;

namespace Rampart.Proxy.Routing;

/// <summary>
/// twemproxy's ketama continuum (nc_ketama.c), bit for bit.
/// </summary>
/// <remarks>
/// <para>For each live server, in twemproxy's server order (sorted by name, see <see cref="KeyDistribution"/>): <c>pct = (float)weight / (float)total_live_weight</c>;
/// <c>points = floorf((float)(pct * 160 / 4 * (float)nlive + 0.0000000001)) * 4</c>, evaluated in single precision
/// as the C does (the constant is a double, so the sum is a double rounded back to float); then for
/// <c>i = 0 .. points/4 - 1</c> the md5 of the ASCII string <c>"&lt;name&gt;-&lt;i&gt;"</c> yields four points, its
/// little-endian uint32s at offsets 0, 4, 8, 12. A low-weight server can thus get zero points.</para>
/// <para>The points are sorted by value (ties keep insertion order, as glibc's merge-sort qsort does), and a hash
/// maps to the first point whose value is &gt;= the hash, wrapping to the first point past the end.</para>
/// <para>Ejection (auto_eject_hosts): twemproxy rebuilds the whole continuum from the live servers only, with the same
/// names, the live total weight and the live count in the formula above, and entries keep each server's index in the
/// full list. <see cref="Build"/> with a live mask does exactly that; it costs about 40 md5s per live server
/// (a few microseconds per server), cheap enough to run on every ejection and readmission.</para>
/// <para>twemproxy formats "name-i" into an 86-byte buffer (KETAMA_MAX_HOSTLEN) but hashes snprintf's untruncated
/// length, so names of about 80 bytes or more make it hash bytes past its buffer (undefined). Here the full string is
/// hashed; placement agrees for every name short enough to be defined in twemproxy.</para>
/// </remarks>
public sealed class KetamaContinuum : KeyDistribution
{
    private const int PointsPerServer = 160; // KETAMA_POINTS_PER_SERVER
    private const int PointsPerHash = 4;

    private readonly uint[] _values;
    private readonly int[] _servers;

    private KetamaContinuum(int serverCount, int liveServerCount, uint[] values, int[] servers)
        : base(serverCount, liveServerCount)
    {
        _values = values;
        _servers = servers;
    }

    public override DistributionKind Kind => DistributionKind.Ketama;

    /// <summary>Point values, ascending.</summary>
    public ReadOnlySpan<uint> PointValues => _values;

    /// <summary>The server index of each point in <see cref="PointValues"/>.</summary>
    public ReadOnlySpan<int> PointServers => _servers;

    /// <summary>twemproxy's point count for one server: <c>floorf(pct * 160 / 4 * nlive + 1e-10) * 4</c>, in float.</summary>
    public static int PointsFor(int weight, long totalWeight, int liveServers)
    {
        float pct = (float)weight / (float)totalWeight;
        float scaled = pct * PointsPerServer / 4 * (float)liveServers;
        float withEpsilon = (float)((double)scaled + 0.0000000001);
        return (int)(uint)(MathF.Floor(withEpsilon) * 4);
    }

    public static KetamaContinuum Build(IReadOnlyList<(string Name, int Weight)> servers, ReadOnlySpan<bool> live = default)
    {
        var (nlive, totalWeight, order) = Survey(servers, live);
        if (nlive == 0) return new KetamaContinuum(servers.Count, 0, [], []);

        int total = 0;
        Span<int> perServer = servers.Count <= 256 ? stackalloc int[servers.Count] : new int[servers.Count];
        for (int i = 0; i < servers.Count; i++)
        {
            perServer[i] = IsLive(live, i) ? PointsFor(servers[i].Weight, totalWeight, nlive) : 0;
            total += perServer[i];
        }

        // value in the high half, insertion order in the low half: one sort gives value order with stable ties.
        var keys = new ulong[total];
        var owner = new int[total];
        int n = 0;
        Span<uint> four = stackalloc uint[PointsPerHash];
        byte[] buffer = [];
        foreach (int s in order) // twemproxy's server order: ties between equal points keep it
        {
            if (perServer[s] == 0) continue;
            int nameLength = Encoding.UTF8.GetByteCount(servers[s].Name);
            if (buffer.Length < nameLength + 12) buffer = new byte[nameLength + 12];
            Encoding.UTF8.GetBytes(servers[s].Name, buffer);
            buffer[nameLength] = (byte)'-';
            Span<byte> digits = buffer.AsSpan(nameLength + 1);
            for (uint p = 0; p < perServer[s] / PointsPerHash; p++)
            {
                p.TryFormat(digits, out int written);
                KeyHash.Md5Points(buffer.AsSpan(0, nameLength + 1 + written), four);
                for (int x = 0; x < PointsPerHash; x++)
                {
                    keys[n] = ((ulong)four[x] << 32) | (uint)n;
                    owner[n] = s;
                    n++;
                }
            }
        }

        Array.Sort(keys);
        var values = new uint[total];
        var indices = new int[total];
        for (int i = 0; i < total; i++)
        {
            values[i] = (uint)(keys[i] >> 32);
            indices[i] = owner[(int)(uint)keys[i]];
        }
        return new KetamaContinuum(servers.Count, nlive, values, indices);
    }

    /// <summary>ketama_dispatch: first point with value &gt;= hash, wrapping around; -1 with no points.</summary>
    public override int ServerIndex(uint hash)
    {
        uint[] values = _values;
        if (values.Length == 0) return -1;
        int left = 0, right = values.Length;
        while (left < right)
        {
            int middle = left + ((right - left) >> 1);
            if (values[middle] < hash) left = middle + 1;
            else right = middle;
        }
        if (right == values.Length) right = 0;
        return _servers[right];
    }
}
