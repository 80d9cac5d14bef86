using System.Text;
using BenchmarkDotNet.Attributes;
using Rampart.Protocol;

namespace Rampart.Benchmarks;

/// <summary>Client requests as they arrive: one parse per operation (the pipeline parses all 16).</summary>
[MemoryDiagnoser]
public class RequestReaderBenchmarks
{
    private readonly RequestReader _reader = new();
    private readonly byte[] _get = "*2\r\n$3\r\nGET\r\n$8\r\nuser:123\r\n"u8.ToArray();
    private readonly byte[] _set = Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$8\r\nuser:123\r\n$100\r\n" + new string('v', 100) + "\r\n");
    private readonly byte[] _pipeline = Enumerable.Repeat("*2\r\n$3\r\nGET\r\n$8\r\nuser:123\r\n"u8.ToArray(), 16).SelectMany(b => b).ToArray();
    private readonly byte[] _ping = "PING\r\n"u8.ToArray();

    [Benchmark]
    public int Get() => Read(_get);

    [Benchmark]
    public int Set100() => Read(_set);

    [Benchmark]
    public int Pipeline16Gets()
    {
        int offset = 0, arguments = 0;
        while (offset < _pipeline.Length)
        {
            _reader.TryRead(_pipeline.AsSpan(offset), out int consumed);
            arguments += _reader.ArgumentCount;
            offset += consumed;
        }
        return arguments;
    }

    [Benchmark]
    public int InlinePing() => Read(_ping);

    private int Read(byte[] data)
    {
        _reader.TryRead(data, out int consumed);
        return consumed + _reader.Argument(data, 0).Length;
    }
}

/// <summary>Server replies: finding where one reply ends.</summary>
[MemoryDiagnoser]
public class ReplyScannerBenchmarks
{
    private readonly ReplyScanner _scanner = new();
    private readonly byte[] _ok = "+OK\r\n"u8.ToArray();
    private readonly byte[] _bulk = Encoding.ASCII.GetBytes("$100\r\n" + new string('v', 100) + "\r\n");
    private readonly byte[] _array = Encoding.ASCII.GetBytes(
        "*10\r\n" + string.Concat(Enumerable.Range(0, 10).Select(i => $"$7\r\nvalue:{i}\r\n")));

    [Benchmark]
    public int SimpleStringOk() => Scan(_ok);

    [Benchmark]
    public int Bulk100() => Scan(_bulk);

    [Benchmark]
    public int ArrayOf10Bulks() => Scan(_array);

    private int Scan(byte[] data)
    {
        _scanner.TryScan(data, out int length);
        return length;
    }
}
