namespace Rampart.Protocol.Tests;

public class ByteBufferTests
{
    private static byte[] Seq(int count, int from = 0) => Enumerable.Range(from, count).Select(i => (byte)i).ToArray();

    [Fact]
    public void Write_BeyondCapacity_GrowsAndKeepsBytes()
    {
        using var buffer = new ByteBuffer(16);
        int initial = buffer.Capacity;
        var data = Seq(1000);
        foreach (var chunk in data.Chunk(7)) buffer.Write(chunk);
        Assert.True(buffer.Capacity > initial);
        Assert.Equal(data, buffer.Span.ToArray());
    }

    [Fact]
    public void WriteByte_ManyTimes_GrowsAndKeepsBytes()
    {
        using var buffer = new ByteBuffer(16);
        for (int i = 0; i < 300; i++) buffer.WriteByte((byte)i);
        Assert.Equal(Seq(300), buffer.Span.ToArray());
    }

    [Fact]
    public void Consume_Part_DropsBytesFromTheStart()
    {
        using var buffer = new ByteBuffer(64);
        buffer.Write(Seq(10));
        buffer.Consume(4);
        Assert.Equal(6, buffer.Length);
        Assert.Equal(Seq(6, 4), buffer.Span.ToArray());
        Assert.Equal(Seq(6, 4), buffer.Memory.ToArray());
    }

    [Fact]
    public void Consume_Everything_ResetsToTheStartOfTheArray()
    {
        using var buffer = new ByteBuffer(64);
        buffer.Write(Seq(10));
        buffer.Consume(10);
        Assert.Equal(0, buffer.Length);
        Assert.Equal(buffer.Capacity, buffer.GetSpan().Length);
    }

    [Fact]
    public void GetSpan_AfterConsume_CompactsInsteadOfGrowing()
    {
        using var buffer = new ByteBuffer(64);
        int capacity = buffer.Capacity;
        buffer.Write(Seq(capacity));
        buffer.Consume(capacity - 8);
        var span = buffer.GetSpan(capacity - 8);
        Assert.Equal(capacity, buffer.Capacity);
        Assert.True(span.Length >= capacity - 8);
        Assert.Equal(Seq(8, capacity - 8), buffer.Span.ToArray());
    }

    [Fact]
    public void GetSpan_MoreThanFreeAfterCompaction_Grows()
    {
        using var buffer = new ByteBuffer(64);
        int capacity = buffer.Capacity;
        buffer.Write(Seq(capacity));
        buffer.Consume(1);
        buffer.GetSpan(10);
        Assert.True(buffer.Capacity > capacity);
        Assert.Equal(Seq(capacity - 1, 1), buffer.Span.ToArray());
    }

    [Fact]
    public void Advance_AfterGetMemory_CommitsWrittenBytes()
    {
        using var buffer = new ByteBuffer(64);
        var memory = buffer.GetMemory(3);
        "abc"u8.CopyTo(memory.Span);
        buffer.Advance(3);
        Assert.True(buffer.Span.SequenceEqual("abc"u8));
    }

    [Fact]
    public void ShrinkIfEmpty_LargeEmptyBuffer_ReturnsToSmallCapacity()
    {
        using var buffer = new ByteBuffer(64);
        buffer.Write(new byte[100_000]);
        Assert.True(buffer.Capacity >= 100_000);
        buffer.ShrinkIfEmpty(4096); // not empty: kept
        Assert.True(buffer.Capacity >= 100_000);
        buffer.Consume(100_000);
        buffer.ShrinkIfEmpty(4096);
        Assert.True(buffer.Capacity < 100_000);
        Assert.Equal(0, buffer.Length);
    }

    [Fact]
    public void Clear_DropsEverything()
    {
        using var buffer = new ByteBuffer(64);
        buffer.Write(Seq(10));
        buffer.Clear();
        Assert.Equal(0, buffer.Length);
        Assert.True(buffer.Span.IsEmpty);
    }

    [Fact]
    public void Lazy_HoldsAnArrayOnlyFromTheFirstWriteUntilReleasedEmpty()
    {
        using var buffer = ByteBuffer.Lazy(1024);
        Assert.False(buffer.HoldsArray);
        buffer.Write(Seq(10));
        Assert.True(buffer.HoldsArray);
        Assert.True(buffer.Capacity >= 1024); // the first write rents the chunk, not just its own 10 bytes
        buffer.Release(); // not empty: kept
        Assert.True(buffer.HoldsArray);
        Assert.Equal(Seq(10), buffer.Span.ToArray());
        buffer.Consume(10);
        buffer.Release();
        Assert.False(buffer.HoldsArray);
        buffer.Write(Seq(3)); // usable again after a release
        Assert.Equal(Seq(3), buffer.Span.ToArray());
    }
}
