using System.Text;

namespace Rampart.Protocol.Tests;

/// <summary>No per-request allocation on the hot path: a correctness property, measured exactly per thread.</summary>
public class AllocationTests
{
    private const int Iterations = 10_000;

    /// <summary>
    /// The fewest bytes the thread allocated over three runs of <see cref="Iterations"/> calls. A per-call allocation
    /// shows in every run (at least 10,000 × its size); the runtime's one-off work on the calling thread (tiered
    /// compilation starting to count calls, seen once in a CI run on 2026-11-30) shows in one run only.
    /// </summary>
    internal static long AllocatedBy(Action action)
    {
        action(); // warm up: first-call JIT work and one-time table growth do not count
        long fewest = long.MaxValue;
        for (int run = 0; run < 3 && fewest != 0; run++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Iterations; i++) action();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }

    public static TheoryData<string> Requests => new()
    {
        "*2\r\n$3\r\nGET\r\n$8\r\nuser:123\r\n",
        "*3\r\n$3\r\nSET\r\n$8\r\nuser:123\r\n$100\r\n" + new string('v', 100) + "\r\n",
        "PING\r\n",
        "SET \"a b\" 'c' d\r\n",
        string.Concat(Enumerable.Repeat("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 16)),
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void TryRead_TenThousandParses_AllocatesNothing(string raw)
    {
        var data = Encoding.ASCII.GetBytes(raw);
        var reader = new RequestReader();
        long allocated = AllocatedBy(() =>
        {
            int offset = 0;
            while (offset < data.Length)
            {
                if (reader.TryRead(data.AsSpan(offset), out int consumed) != ParseStatus.Complete) throw new InvalidOperationException();
                _ = reader.Argument(data.AsSpan(offset), 0);
                offset += consumed;
            }
        });
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void TryRead_ResumedAcrossReads_AllocatesNothing()
    {
        var data = Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$8\r\nuser:123\r\n$100\r\n" + new string('v', 100) + "\r\n");
        var reader = new RequestReader();
        long allocated = AllocatedBy(() =>
        {
            reader.TryRead(data.AsSpan(0, 30), out _);
            reader.TryRead(data.AsSpan(0, 60), out _);
            if (reader.TryRead(data, out _) != ParseStatus.Complete) throw new InvalidOperationException();
        });
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData("+OK\r\n")]
    [InlineData("$5\r\nhello\r\n")]
    [InlineData("*3\r\n$1\r\na\r\n%1\r\n+k\r\n:1\r\n|1\r\n+a\r\n+b\r\n_\r\n")]
    public void TryScan_TenThousandScans_AllocatesNothing(string raw)
    {
        var data = Encoding.ASCII.GetBytes(raw);
        var scanner = new ReplyScanner();
        long allocated = AllocatedBy(() =>
        {
            if (!scanner.TryScan(data, out _)) throw new InvalidOperationException();
        });
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void RespWriter_TenThousandReplies_AllocatesNothingOnceTheBufferIsSized()
    {
        using var buffer = new ByteBuffer(4096);
        long allocated = AllocatedBy(() =>
        {
            buffer.Clear();
            RespWriter.ArrayHeader(buffer, 2);
            RespWriter.Bulk(buffer, "value"u8);
            RespWriter.Integer(buffer, 12345);
            RespWriter.SimpleString(buffer, "OK"u8);
        });
        Assert.Equal(0, allocated);
    }
}
