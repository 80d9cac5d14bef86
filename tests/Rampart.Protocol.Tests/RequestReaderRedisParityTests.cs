using System.Text;
using static Rampart.Protocol.Tests.RequestFeed;

namespace Rampart.Protocol.Tests;

/// <summary>
/// The same bytes sent to a real redis-server and to <see cref="RequestReader"/>: error lines must match byte for
/// byte, and inline commands must split into the same arguments. A second server has requirepass, for the limits
/// Redis puts on clients that have not authenticated.
/// </summary>
public class RequestReaderRedisParityTests(RedisServer redis, RedisServerWithPassword passwordRedis)
    : IClassFixture<RedisServer>, IClassFixture<RedisServerWithPassword>
{
    private static byte[] OurErrorLine(byte[] request, RespLimits? limits = null, bool authRequired = false)
    {
        var reader = NewReader(limits, authRequired);
        Assert.Equal(ParseStatus.Error, reader.TryRead(request, out _));
        using var output = new ByteBuffer();
        reader.WriteError(output);
        return output.Span.ToArray();
    }

    private byte[]? RedisReply(byte[] request, RedisServer? server = null)
    {
        using var connection = (server ?? redis).Connect();
        connection.Send(request);
        return connection.ReadReply();
    }

    private void AssertSameErrorAsRedis(byte[] request, RespLimits? limits = null)
    {
        var ours = OurErrorLine(request, limits);
        var theirs = RedisReply(request);
        Assert.NotNull(theirs);
        Assert.Equal(Encoding.Latin1.GetString(theirs), Encoding.Latin1.GetString(ours));
    }

    public static TheoryData<string> UnauthenticatedRequests()
    {
        var data = new TheoryData<string>();
        foreach (var row in RequestReaderTests.UnauthenticatedErrors) data.Add((string)row[0]);
        foreach (var row in RequestReaderTests.UnauthenticatedMalformed) data.Add((string)row[0]);
        return data;
    }

    [Theory]
    [MemberData(nameof(UnauthenticatedRequests))]
    public void Unauthenticated_OverLimitOrMalformedHeader_MatchesRedisWithPasswordByteForByte(string raw)
    {
        var request = Bytes(raw);
        var theirs = RedisReply(request, passwordRedis);
        Assert.NotNull(theirs);
        Assert.Equal(Encoding.Latin1.GetString(theirs), Encoding.Latin1.GetString(OurErrorLine(request, authRequired: true)));
    }

    [Fact]
    public void Unauthenticated_AtTheLimits_ParsesAsRedisDoes_AndAuthenticatedClientsHaveNoLimits()
    {
        // At the limits Redis runs the command (here it refuses it as NOAUTH), so the request was whole.
        byte[] tenArguments = Bytes("*10\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n" + string.Concat(Enumerable.Repeat("$1\r\na\r\n", 8)));
        byte[] bigBulk = [.. Bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16384\r\n"), .. new byte[16384], .. "\r\n"u8];
        foreach (var request in new[] { tenArguments, bigBulk })
        {
            Assert.Equal(ParseStatus.Complete, Whole(request, authRequired: true).Status);
            Assert.Equal("-NOAUTH Authentication required.\r\n", Encoding.Latin1.GetString(RedisReply(request, passwordRedis)!));
        }

        // Once authenticated, more is accepted by both.
        byte[] elevenArguments = Bytes("*11\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n" + string.Concat(Enumerable.Repeat("$1\r\na\r\n", 9)));
        byte[] biggerBulk = [.. Bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16385\r\n"), .. new byte[16385], .. "\r\n"u8];
        using var connection = passwordRedis.Connect();
        Assert.Equal("+OK\r\n", Encoding.Latin1.GetString(connection.Exchange(Bytes($"AUTH {RedisServerWithPassword.Password}\r\nDEL k\r\n"))));
        connection.ReadReply();
        Assert.Equal(ParseStatus.Complete, Whole(elevenArguments).Status);
        Assert.Equal(":9\r\n", Encoding.Latin1.GetString(connection.Exchange(elevenArguments)));
        Assert.Equal(ParseStatus.Complete, Whole(biggerBulk).Status);
        Assert.Equal("+OK\r\n", Encoding.Latin1.GetString(connection.Exchange(biggerBulk)));
    }

    [Theory]
    [InlineData("ECHO a\0b\r\n")]
    [InlineData("PING\r\0\n")]
    [InlineData("\0\r\n")]
    [InlineData("*1\0\r\n$4\r\nPING\r\n")]
    [InlineData("*2\r\n$4\r\nECHO\r\n$1\0\r\na\r\n")]
    [InlineData("*1\r\n\0\r\n")]
    public void NulBeforeTheLineEnd_RedisRunsNothingUntilTheTooBigError_MatchesByteForByte(string raw)
    {
        // Redis's strchr stops at the NUL, so it never finds the line's end: its first reply is not the command's but
        // the "too big" error once the buffer passes 64 KB. Ours waits the same way and fails with the same line.
        byte[] line = Bytes(raw);
        Assert.Equal(ParseStatus.Incomplete, Whole([.. line, .. Bytes("PING\r\n")]).Status);
        AssertSameErrorAsRedis([.. line, .. Bytes(new string('a', 70_000))]);
    }

    public static TheoryData<string> ErrorRequests()
    {
        var data = new TheoryData<string>();
        foreach (var row in RequestReaderTests.Errors) data.Add((string)row[0]);
        data.Add("*1\r\n\u00ff\r\n");
        data.Add("*1\r\n\r\r\n");
        data.Add("*1\r\n\n\r\n");
        data.Add("*1\r\n\u0001\r\n");
        return data;
    }

    [Theory]
    [MemberData(nameof(ErrorRequests))]
    public void Error_MalformedRequest_MatchesRedisByteForByte(string raw) => AssertSameErrorAsRedis(Bytes(raw));

    [Fact]
    public void Error_TooBigMbulkCountString_MatchesRedisByteForByte() =>
        AssertSameErrorAsRedis(Bytes("*" + new string('1', 70_000)));

    [Fact]
    public void Error_TooBigBulkCountString_MatchesRedisByteForByte()
    {
        AssertSameErrorAsRedis(Bytes("*1\r\n$" + new string('1', 70_000)));
        AssertSameErrorAsRedis(Bytes("*1\r\nx" + new string('a', 70_000)));
    }

    [Fact]
    public void Error_OneMegabyteInlineRequest_MatchesRedisByteForByte() =>
        AssertSameErrorAsRedis(Bytes("SET k " + new string('a', 1024 * 1024)));

    [Fact]
    public void Error_BulkOverConfiguredLimit_MatchesRedisByteForByte()
    {
        const int limit = 1024 * 1024; // the smallest proto-max-bulk-len Redis accepts
        using var admin = redis.Connect();
        Assert.Equal("+OK\r\n", Encoding.ASCII.GetString(admin.Exchange(Bytes($"CONFIG SET proto-max-bulk-len {limit}\r\n"))));
        try
        {
            var limits = new RespLimits { MaxBulkLength = limit };
            AssertSameErrorAsRedis(Bytes($"*1\r\n${limit + 1}\r\n"), limits);
            Assert.Equal(ParseStatus.Incomplete, new RequestReader(limits).TryRead(Bytes($"*1\r\n${limit}\r\n"), out _));
        }
        finally
        {
            admin.Exchange(Bytes("CONFIG SET proto-max-bulk-len 536870912\r\n"));
        }
    }

    [Theory]
    [InlineData("a b c")]
    [InlineData("\"a b\" 'c d'")]
    [InlineData("\"\\x41\\x4a\\x4\\xZZ\" x")]
    [InlineData("\"\\n\\r\\t\\b\\a\\\\\\q\\\"\"")]
    [InlineData("'\\'' '\\n' 'a\\\"b'")]
    [InlineData("ab\"cd ef\"gh x")]
    [InlineData("a\vb\fc d\te")]
    [InlineData("\"a\"\vb")]
    [InlineData("'a'\fb")]
    [InlineData("\u00e9\u00ff \"\u0080\"")]
    [InlineData("x \"\" ''")]
    [InlineData("a\rb")]
    [InlineData("\"a")]
    [InlineData("\"a\"b")]
    [InlineData("'a'b")]
    [InlineData("\"a\\")]
    public void Inline_TrickyLine_SplitsLikeRedis(string tail) => AssertInlineLikeRedis(tail);

    [Fact]
    public void Inline_RandomLines_SplitLikeRedis()
    {
        var random = new Random(20240611);
        byte[] alphabet = [.. "ab x4Fn"u8, (byte)'\t', 0x0b, 0x0c, (byte)'"', (byte)'\'', (byte)'\\', (byte)'\r', 0xe9];
        for (int i = 0; i < 150; i++)
        {
            var tail = new char[random.Next(1, 12)];
            for (int j = 0; j < tail.Length; j++) tail[j] = (char)alphabet[random.Next(alphabet.Length)];
            AssertInlineLikeRedis("v " + new string(tail));
        }
    }

    // RPUSH the line's arguments into a list and read them back with LRANGE: Redis shows exactly how it split them.
    private void AssertInlineLikeRedis(string tail)
    {
        var line = Bytes("RPUSH k " + tail + "\r\n");
        var ours = Whole(line);
        using var connection = redis.Connect();
        connection.Exchange(Bytes("*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"));
        connection.Send(line);
        var reply = connection.ReadReply();
        Assert.NotNull(reply);
        if (ours.Status == ParseStatus.Error)
        {
            Assert.Equal(Encoding.Latin1.GetString(OurErrorLine(line)), Encoding.Latin1.GetString(reply));
            return;
        }
        Assert.Equal(ParseStatus.Complete, ours.Status);
        Assert.Equal($":{ours.Args.Length - 2}\r\n", Encoding.Latin1.GetString(reply));
        var list = ParseBulkArray(connection.Exchange(Bytes("*4\r\n$6\r\nLRANGE\r\n$1\r\nk\r\n$1\r\n0\r\n$2\r\n-1\r\n")));
        Assert.Equal(ours.Strings[2..], list);
    }

    private static string[] ParseBulkArray(byte[] reply)
    {
        var reader = new RequestReader(); // an array of bulk strings has the shape of a multibulk request
        Assert.Equal(ParseStatus.Complete, reader.TryRead(reply, out _));
        return Enumerable.Range(0, reader.ArgumentCount).Select(i => Encoding.Latin1.GetString(reader.Argument(reply, i))).ToArray();
    }
}
