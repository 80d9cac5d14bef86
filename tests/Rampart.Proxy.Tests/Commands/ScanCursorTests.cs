using System.Text;
using Rampart.Proxy.Commands;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>The walk's cursor (<see cref="ScanCursor"/>): parsed as Redis parses one, carried exactly, ended right.</summary>
public sealed class ScanCursorTests
{
    [Fact]
    public void Parse_AcceptsExactlyWhatARealServerAccepts()
    {
        using var redis = RedisServerProcess.Start();
        string[] texts = ["0", "", "-1", "+5", "-", "+", "007", " 1", "1 ", "1x", "0x10", "18446744073709551615",
            "18446744073709551616", "-18446744073709551615", "99999999999999999999999", "+-1", "1.0"];
        foreach (string text in texts)
        {
            string reply = redis.Send(RespText.Command("SCAN", text, "COUNT", "1"));
            bool serverAccepts = !reply.StartsWith('-');
            if (!serverAccepts) Assert.StartsWith("-" + ScanCursor.InvalidCursor, reply);
            Assert.True(serverAccepts == ScanCursor.TryParse(Encoding.ASCII.GetBytes(text), out _), $"cursor '{text}': server accepts it: {serverAccepts}");
        }
    }

    [Theory]
    [InlineData("-1", ulong.MaxValue), InlineData("", 0UL), InlineData("+12", 12UL), InlineData("-18446744073709551615", 1UL)]
    public void Parse_GivesStrtoulsValue(string text, ulong expected)
    {
        Assert.True(ScanCursor.TryParse(Encoding.ASCII.GetBytes(text), out ulong cursor));
        Assert.Equal(expected, cursor);
    }

    [Theory]
    [InlineData(0, 3, 1UL), InlineData(1, 3, 2UL), InlineData(2, 3, 0UL)]
    public void AServerAtItsEnd_HandsOnToTheNextServerFromItsStart_AndTheLastEndsTheWalk(int server, int count, ulong expected)
    {
        Assert.True(ScanCursor.TryNext(server, count, 0, out ulong next));
        Assert.Equal(expected, next);
    }

    [Theory]
    [InlineData(0, 1UL), InlineData(2, 1UL), InlineData(16383, 12345UL), InlineData(5, ScanCursor.MaxServerCursor)]
    public void EveryServerCursorThatFits_RoundTripsExactly(int server, ulong serverCursor)
    {
        Assert.True(ScanCursor.TryNext(server, ScanCursor.MaxServers, serverCursor, out ulong cursor));
        Assert.True(ScanCursor.TryDecode(cursor, ScanCursor.MaxServers, out int decodedServer, out ulong decodedCursor));
        Assert.Equal((server, serverCursor), (decodedServer, decodedCursor));
    }

    [Fact]
    public void AServerCursorTooLargeToCarry_IsRefused_NeverTruncated()
    {
        Assert.False(ScanCursor.TryNext(0, 2, ScanCursor.MaxServerCursor + 1, out _));
        Assert.False(ScanCursor.TryNext(1, 2, ulong.MaxValue, out _));
    }

    [Theory]
    [InlineData(3UL, 3), InlineData(ulong.MaxValue, 4), InlineData((7UL << 14) | 4, 4)]
    public void ACursorNamingNoServerOfTheWalk_IsInvalid(ulong cursor, int servers)
    {
        Assert.False(ScanCursor.TryDecode(cursor, servers, out _, out _));
    }
}
