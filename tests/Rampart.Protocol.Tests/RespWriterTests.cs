using System.Text;

namespace Rampart.Protocol.Tests;

public class RespWriterTests
{
    private static string Written(Action<ByteBuffer> write)
    {
        using var buffer = new ByteBuffer(8);
        write(buffer);
        return Encoding.Latin1.GetString(buffer.Span);
    }

    [Fact]
    public void SimpleString_WritesPlusLine() => Assert.Equal("+OK\r\n", Written(b => RespWriter.SimpleString(b, "OK"u8)));

    [Fact]
    public void Error_Bytes_WritesMinusLine() =>
        Assert.Equal("-ERR bad\r\n", Written(b => RespWriter.Error(b, "ERR bad"u8)));

    [Fact]
    public void Error_StringWithNewlines_StaysOnOneLine() =>
        Assert.Equal("-ERR a  b\r\n", Written(b => RespWriter.Error(b, "ERR a\r\nb")));

    [Fact]
    public void Error_Utf8String_IsEncodedAsUtf8() =>
        Assert.Equal("-ERR \u00c3\u00a9\r\n", Written(b => RespWriter.Error(b, "ERR \u00e9")));

    [Theory]
    [InlineData(0L, ":0\r\n")]
    [InlineData(-1L, ":-1\r\n")]
    [InlineData(long.MinValue, ":-9223372036854775808\r\n")]
    [InlineData(long.MaxValue, ":9223372036854775807\r\n")]
    public void Integer_WritesColonLine(long value, string expected) =>
        Assert.Equal(expected, Written(b => RespWriter.Integer(b, value)));

    [Fact]
    public void Bulk_Bytes_WritesLengthAndData() =>
        Assert.Equal("$5\r\na\r\nbc\r\n", Written(b => RespWriter.Bulk(b, "a\r\nbc"u8)));

    [Fact]
    public void Bulk_Empty_WritesZeroLength() => Assert.Equal("$0\r\n\r\n", Written(b => RespWriter.Bulk(b, ReadOnlySpan<byte>.Empty)));

    [Fact]
    public void Bulk_String_CountsUtf8Bytes() =>
        Assert.Equal("$2\r\n\u00c3\u00a9\r\n", Written(b => RespWriter.Bulk(b, "\u00e9")));

    [Fact]
    public void NullsAndArrayHeader_WriteRespForms()
    {
        Assert.Equal("$-1\r\n", Written(RespWriter.NullBulk));
        Assert.Equal("*-1\r\n", Written(RespWriter.NullArray));
        Assert.Equal("*3\r\n", Written(b => RespWriter.ArrayHeader(b, 3)));
    }

    [Fact]
    public void WrittenRequest_ReadsBackThroughRequestReader()
    {
        using var buffer = new ByteBuffer(8);
        RespWriter.ArrayHeader(buffer, 3);
        RespWriter.Bulk(buffer, "SET"u8);
        RespWriter.Bulk(buffer, "key");
        RespWriter.Bulk(buffer, new byte[1000]);
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Complete, reader.TryRead(buffer.Span, out int consumed));
        Assert.Equal(buffer.Length, consumed);
        Assert.Equal(1000, reader.Argument(buffer.Span, 2).Length);
        Assert.True(new ReplyScanner().TryScan(buffer.Span, out int length));
        Assert.Equal(buffer.Length, length);
    }
}
