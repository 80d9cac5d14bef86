using System.Text;

namespace Rampart.Protocol.Tests;

public class RespNumberTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1", 1L)]
    [InlineData("-1", -1L)]
    [InlineData("42", 42L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    [InlineData("-9223372036854775807", -long.MaxValue)]
    public void TryParse_ValidNumber_ReturnsItsValue(string text, long expected)
    {
        Assert.True(RespNumber.TryParse(Encoding.ASCII.GetBytes(text), out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("-0")]
    [InlineData("007")]
    [InlineData("00")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1a")]
    [InlineData("0x10")]
    [InlineData("--1")]
    [InlineData("1.0")]
    [InlineData("9223372036854775808")]
    [InlineData("-9223372036854775809")]
    [InlineData("18446744073709551615")]
    [InlineData("18446744073709551616")]
    [InlineData("99999999999999999999")]
    [InlineData("000000000000000000001")]
    [InlineData("123456789012345678901")]
    public void TryParse_WhatString2llRefuses_ReturnsFalse(string text) =>
        Assert.False(RespNumber.TryParse(Encoding.ASCII.GetBytes(text), out _));

    [Fact]
    public void TryParse_EveryLongFormattedAndBack_RoundTrips()
    {
        var random = new Random(5);
        for (int i = 0; i < 10_000; i++)
        {
            long v = random.Next(4) switch { 0 => random.Next(-1000, 1000), 1 => random.NextInt64(), _ => random.NextInt64(long.MinValue, long.MaxValue) };
            Assert.True(RespNumber.TryParse(Encoding.ASCII.GetBytes(v.ToString()), out long parsed));
            Assert.Equal(v, parsed);
        }
    }
}
