using BenchmarkDotNet.Attributes;
using Rampart.Proxy.Routing;

namespace Rampart.Benchmarks;

/// <summary>
/// A Redis Cluster key's slot, computed for every key of a cluster pool's requests: CRC16 two bytes a step against the
/// one-byte table loop it replaced, on keys of redis-benchmark's shape and a longer one.
/// </summary>
public class SlotBenchmarks
{
    private static readonly ushort[] Table = BuildTable();
    private readonly byte[] _benchmarkKey = "key:000000012345"u8.ToArray();
    private readonly byte[] _longKey = "session:2f1c9a7e-4b8d-4e61-9c1a-7d3e5f0b2a94:cart"u8.ToArray();

    [Benchmark(Baseline = true)]
    public int OneByteAStep() => OneByteLoop(_benchmarkKey) + OneByteLoop(_longKey);

    [Benchmark]
    public int TwoBytesAStep() => ClusterSlot.Crc16(_benchmarkKey) + ClusterSlot.Crc16(_longKey);

    private static ushort OneByteLoop(ReadOnlySpan<byte> data)
    {
        ushort crc = 0;
        foreach (byte b in data) crc = (ushort)((crc << 8) ^ Table[((crc >> 8) ^ b) & 0xFF]);
        return crc;
    }

    // The one-byte table: a single byte's CRC from zero is its table entry.
    private static ushort[] BuildTable() => Enumerable.Range(0, 256).Select(b => ClusterSlot.Crc16([(byte)b])).ToArray();
}
