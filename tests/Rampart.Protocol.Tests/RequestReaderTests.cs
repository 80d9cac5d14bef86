using System.Text;
using static Rampart.Protocol.Tests.RequestFeed;

namespace Rampart.Protocol.Tests;

public class RequestReaderTests
{
    // Bytes after the request that a reader must never consume.
    private static readonly byte[] Guard = Bytes("\u00aa*9\r\n$");

    private static byte[] WithGuard(byte[] request) => [.. request, .. Guard];

    private static void AssertParses(string raw, params string[] expected) => AssertParses(Bytes(raw), expected);

    private static void AssertParses(byte[] request, params string[] expected)
    {
        var parsed = AssertSameAtEverySplit(WithGuard(request));
        Assert.Equal(ParseStatus.Complete, parsed.Status);
        Assert.Equal(request.Length, parsed.Consumed);
        Assert.Equal(expected, parsed.Strings);
    }

    [Theory]
    [InlineData("*1\r\n$4\r\nPING\r\n", new[] { "PING" })]
    [InlineData("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", new[] { "GET", "key" })]
    [InlineData("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", new[] { "SET", "k", "value" })]
    [InlineData("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", new[] { "ECHO", "" })]
    [InlineData("*2\r\n$4\r\nECHO\r\n$6\r\n\r\n\r\n\r\n\r\n", new[] { "ECHO", "\r\n\r\n\r\n" })]
    [InlineData("*2\r\n$4\r\nECHO\r\n$4\r\n*1\r\n\r\n", new[] { "ECHO", "*1\r\n" })]
    [InlineData("*3\r\n$3\r\nSET\r\n$2\r\n\0\u00ff\r\n$3\r\n$1\n\r\n", new[] { "SET", "\0\u00ff", "$1\n" })]
    public void Read_Multibulk_ParsesSameArgumentsAtEverySplit(string raw, string[] expected) => AssertParses(raw, expected);

    [Fact]
    public void Read_MultibulkTrailingBytesAfterBulk_AreSkippedUnchecked()
    {
        // Redis skips the two bytes after bulk data without looking at them.
        AssertParses("*1\r\n$4\r\nPINGxy", "PING");
    }

    [Theory]
    [InlineData("*0\r\n")]
    [InlineData("*-1\r\n")]
    [InlineData("*-7\r\n")]
    public void Read_EmptyOrNullMultibulk_CompletesWithNoArguments(string raw)
    {
        var parsed = AssertSameAtEverySplit(WithGuard(Bytes(raw)));
        Assert.Equal(ParseStatus.Complete, parsed.Status);
        Assert.Equal(raw.Length, parsed.Consumed);
        Assert.Empty(parsed.Args);
    }

    [Fact]
    public void Read_EveryByteValueInsideBulk_IsKeptVerbatim()
    {
        var value = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        byte[] request = [.. Bytes("*2\r\n$4\r\nECHO\r\n$256\r\n"), .. value, .. "\r\n"u8];
        var parsed = AssertSameAtEverySplit(WithGuard(request));
        Assert.Equal(ParseStatus.Complete, parsed.Status);
        Assert.Equal(value, parsed.Args[1]);
    }

    [Theory]
    [InlineData("PING\r\n", new[] { "PING" })]
    [InlineData("PING\n", new[] { "PING" })]
    [InlineData("GET key\r\n", new[] { "GET", "key" })]
    [InlineData("  SET   a    b   \r\n", new[] { "SET", "a", "b" })]
    [InlineData("SET\ta\t\tb\r\n", new[] { "SET", "a", "b" })]
    [InlineData("GET a\rb\r\n", new[] { "GET", "a", "b" })]
    [InlineData("SET \"a b\" c\r\n", new[] { "SET", "a b", "c" })]
    [InlineData("SET \"\\x41\\x7a\" c\r\n", new[] { "SET", "Az", "c" })]
    [InlineData("ECHO \"\\x4\"\r\n", new[] { "ECHO", "x4" })]
    [InlineData("ECHO \"\\xZZ\"\r\n", new[] { "ECHO", "xZZ" })]
    [InlineData("ECHO \"\\n\\r\\t\\b\\a\\\\\\q\"\r\n", new[] { "ECHO", "\n\r\t\b\a\\q" })]
    [InlineData("ECHO \"a\\\"b\"\r\n", new[] { "ECHO", "a\"b" })]
    [InlineData("ECHO '\\''\r\n", new[] { "ECHO", "'" })]
    [InlineData("ECHO 'a\\\"b\\n'\r\n", new[] { "ECHO", "a\\\"b\\n" })]
    [InlineData("ECHO 'a b' \"\" ''\r\n", new[] { "ECHO", "a b", "", "" })]
    [InlineData("ECHO ab\"cd ef\"\r\n", new[] { "ECHO", "abcd ef" })]
    [InlineData("ECHO a'b c' d\r\n", new[] { "ECHO", "ab c", "d" })]
    [InlineData("ECHO \"a\"\tb\r\n", new[] { "ECHO", "a", "b" })]
    [InlineData("ECHO \"a\"\vb\r\n", new[] { "ECHO", "a", "b" })]
    [InlineData("ECHO a\vb\fc\r\n", new[] { "ECHO", "a\vb\fc" })]
    [InlineData("\vECHO\f x\r\n", new[] { "ECHO\f", "x" })]
    [InlineData("ECHO \u00e9\u00ff\r\n", new[] { "ECHO", "\u00e9\u00ff" })]
    [InlineData("ECHO \"x\"\r\r\n", new[] { "ECHO", "x" })]
    public void Read_Inline_SplitsArgumentsLikeSdssplitargs(string raw, string[] expected)
    {
        AssertParses(raw, expected);
        Assert.True(Whole(Bytes(raw)).IsInline);
    }

    [Theory]
    [InlineData("\r\n")]
    [InlineData("\n")]
    [InlineData("   \t \r\n")]
    public void Read_EmptyInlineLine_CompletesWithNoArguments(string raw) => AssertParses(raw);

    [Fact]
    public void Read_PipelineOfManyRequests_ParsesEachInOrder()
    {
        var stream = new List<byte>();
        var expected = new List<string[]>();
        for (int i = 0; i < 200; i++)
        {
            string key = "key:" + i;
            switch (i % 4)
            {
                case 0: stream.AddRange(Bytes($"*2\r\n$3\r\nGET\r\n${key.Length}\r\n{key}\r\n")); expected.Add(["GET", key]); break;
                case 1: stream.AddRange(Bytes($"SET {key} \"v {i}\"\r\n")); expected.Add(["SET", key, $"v {i}"]); break;
                case 2: stream.AddRange(Bytes("*0\r\n")); expected.Add([]); break;
                default: stream.AddRange(Bytes($"*3\r\n$4\r\nHSET\r\n${key.Length}\r\n{key}\r\n$0\r\n\r\n")); expected.Add(["HSET", key, ""]); break;
            }
        }
        var data = stream.ToArray();
        var reader = new RequestReader();
        int offset = 0;
        foreach (var want in expected)
        {
            var parsed = Whole(reader, data[offset..]);
            Assert.Equal(ParseStatus.Complete, parsed.Status);
            Assert.Equal(want, parsed.Strings);
            offset += parsed.Consumed;
        }
        Assert.Equal(data.Length, offset);
        Assert.Equal(ParseStatus.Incomplete, reader.TryRead(ReadOnlySpan<byte>.Empty, out _));
    }

    [Fact]
    public void Read_TenMegabyteBulk_ParsesWholeAndInPieces()
    {
        var value = new byte[10 * 1024 * 1024];
        new Random(7).NextBytes(value);
        byte[] request = [.. Bytes($"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${value.Length}\r\n"), .. value, .. "\r\n"u8];
        var data = WithGuard(request);

        var whole = Whole(data);
        Assert.Equal(ParseStatus.Complete, whole.Status);
        Assert.Equal(request.Length, whole.Consumed);
        Assert.True(value.AsSpan().SequenceEqual(whole.Args[2]));

        int header = request.Length - value.Length - 2;
        foreach (int split in new[] { 0, 1, 20, header - 1, header, header + 1, header + 4096, request.Length - 2, request.Length - 1, request.Length })
            AssertSame(whole, TwoReads(data, split), $"split at {split}");
        AssertSame(whole, Growing(data, 16 * 1024), "16 KB reads");
        AssertSame(whole, Growing(data, 65_521), "odd-sized reads");
    }

    [Fact]
    public void Read_IncompleteBulk_NeededLengthIsWholeRequestAndShortBuffersAreRefusedCheaply()
    {
        byte[] request = [.. Bytes("*2\r\n$4\r\nECHO\r\n$1000\r\n"), .. new byte[1000], .. "\r\n"u8];
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Incomplete, reader.TryRead(request.AsSpan(0, 30), out _));
        Assert.Equal(request.Length, reader.NeededLength);
        Assert.Equal(ParseStatus.Incomplete, reader.TryRead(request.AsSpan(0, request.Length - 1), out _));
        Assert.Equal(ParseStatus.Complete, reader.TryRead(request, out int consumed));
        Assert.Equal(request.Length, consumed);
    }

    [Fact]
    public void Read_EmptyBuffer_IsIncompleteAndNeedsOneByte()
    {
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Incomplete, reader.TryRead(ReadOnlySpan<byte>.Empty, out int consumed));
        Assert.Equal(0, consumed);
        Assert.Equal(1, reader.NeededLength);
    }

    [Fact]
    public void Request_View_ExposesCommandAndArguments()
    {
        var data = Bytes("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Complete, reader.TryRead(data, out _));
        var request = new Request(reader, data);
        Assert.Equal(2, request.Count);
        Assert.True(request.Command.SequenceEqual("GET"u8));
        Assert.True(request[1].SequenceEqual("k"u8));
        Assert.Equal(17, reader.ArgumentOffset(1));
        Assert.Equal(1, reader.ArgumentLength(1));
        try
        {
            _ = new Request(reader, data)[2];
            Assert.Fail("index 2 of a two-argument request must throw");
        }
        catch (ArgumentOutOfRangeException) { }
    }

    public static TheoryData<string, string> Errors => new()
    {
        { "*abc\r\n", "Protocol error: invalid multibulk length" },
        { "*03\r\n", "Protocol error: invalid multibulk length" },
        { "*+1\r\n", "Protocol error: invalid multibulk length" },
        { "*-\r\n", "Protocol error: invalid multibulk length" },
        { "*\r\n", "Protocol error: invalid multibulk length" },
        { "* 1\r\n", "Protocol error: invalid multibulk length" },
        { "*1 \r\n", "Protocol error: invalid multibulk length" },
        { "*-0\r\n", "Protocol error: invalid multibulk length" },
        { "*2147483648\r\n", "Protocol error: invalid multibulk length" },
        { "*99999999999999999999\r\n", "Protocol error: invalid multibulk length" },
        { "*1\r\nx\r\n", "Protocol error: expected '$', got 'x'" },
        { "*2\r\n$3\r\nGET\r\n:1\r\n", "Protocol error: expected '$', got ':'" },
        { "*1\r\n*1\r\n", "Protocol error: expected '$', got '*'" },
        { "*1\r\n$-1\r\n", "Protocol error: invalid bulk length" },
        { "*1\r\n$abc\r\n", "Protocol error: invalid bulk length" },
        { "*1\r\n$+3\r\nabc\r\n", "Protocol error: invalid bulk length" },
        { "*1\r\n$03\r\nabc\r\n", "Protocol error: invalid bulk length" },
        { "*1\r\n$\r\n", "Protocol error: invalid bulk length" },
        { "*1\r\n$536870913\r\n", "Protocol error: invalid bulk length" },
        { "*1\r\n$9223372036854775808\r\n", "Protocol error: invalid bulk length" },
        { "ECHO \"a\r\n", "Protocol error: unbalanced quotes in request" },
        { "ECHO 'a\r\n", "Protocol error: unbalanced quotes in request" },
        { "ECHO \"a\"b\r\n", "Protocol error: unbalanced quotes in request" },
        { "ECHO 'a'b\r\n", "Protocol error: unbalanced quotes in request" },
        { "ECHO \"a\\\"\r\n", "Protocol error: unbalanced quotes in request" },
        { "ECHO \"a\\\r\n", "Protocol error: unbalanced quotes in request" },
        { "ECHO 'a\\'\r\n", "Protocol error: unbalanced quotes in request" },
        { "ECHO \"\"\"\"\r\n", "Protocol error: unbalanced quotes in request" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Read_Malformed_FailsWithRedisMessageAtEverySplit(string raw, string message)
    {
        var parsed = AssertSameAtEverySplit(Bytes(raw));
        Assert.Equal(ParseStatus.Error, parsed.Status);
        Assert.Equal(message, parsed.Error);
    }

    [Fact]
    public void Read_UnexpectedByteInsteadOfDollar_WaitsForTheLineLikeRedis()
    {
        // Redis reads the whole bulk header line before it looks at its first byte.
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Incomplete, reader.TryRead(Bytes("*1\r\nx"), out _));
        Assert.Equal(ParseStatus.Incomplete, reader.TryRead(Bytes("*1\r\nx\r"), out _));
        Assert.Equal(ParseStatus.Error, reader.TryRead(Bytes("*1\r\nx\r\n"), out _));
        Assert.Equal("Protocol error: expected '$', got 'x'", reader.Error);
    }

    [Fact]
    public void Read_BulkOverCustomLimit_FailsWithInvalidBulkLength()
    {
        var limits = new RespLimits { MaxBulkLength = 10 };
        var ok = Whole(Bytes("*1\r\n$10\r\n0123456789\r\n"), limits);
        Assert.Equal(ParseStatus.Complete, ok.Status);
        var parsed = AssertSameAtEverySplit(Bytes("*1\r\n$11\r\n01234567890\r\n"), limits);
        Assert.Equal(ParseStatus.Error, parsed.Status);
        Assert.Equal("Protocol error: invalid bulk length", parsed.Error);
    }

    [Fact]
    public void Read_RequestOverMaxRequestSize_FailsAtTheHeaderOfTheBulkThatGoesOver()
    {
        // 3 bulks of 10: 4 + 3 * 17 = 55 bytes in all.
        var request = "*3\r\n" + string.Concat(Enumerable.Repeat("$10\r\n0123456789\r\n", 3));
        var exact = RespLimits.ForMaxRequestSize(55);
        Assert.Equal(ParseStatus.Complete, AssertSameAtEverySplit(Bytes(request), exact).Status);
        var parsed = AssertSameAtEverySplit(Bytes(request), RespLimits.ForMaxRequestSize(54));
        Assert.Equal(ParseStatus.Error, parsed.Status);
        Assert.Equal(RequestReader.TooBigRequest, parsed.Error);
        // The header alone is enough: the last bulk's body is never waited for.
        var reader = NewReader(RespLimits.ForMaxRequestSize(54));
        Assert.Equal(ParseStatus.Error, reader.TryRead(Bytes(request[..(55 - 17 + 5)]), out _));
        Assert.True(reader.ErrorWasSizeLimit);
        // A single bulk over it gets Redis's own error for a bulk over proto-max-bulk-len.
        var bulk = NewReader(RespLimits.ForMaxRequestSize(9));
        Assert.Equal(ParseStatus.Error, bulk.TryRead(Bytes("*1\r\n$10\r\n"), out _));
        Assert.Equal("Protocol error: invalid bulk length", bulk.Error);
        Assert.True(bulk.ErrorWasSizeLimit);
    }

    [Fact]
    public void Read_ErrorsThatAreNotSizeLimits_AreNotCountedAsSuch()
    {
        var reader = NewReader(RespLimits.ForMaxRequestSize(1024));
        Assert.Equal(ParseStatus.Error, reader.TryRead(Bytes("*1\r\n$-5\r\n"), out _));
        Assert.False(reader.ErrorWasSizeLimit);
        Assert.Equal(ParseStatus.Error, reader.TryRead(Bytes("*1\r\nx\r\n"), out _));
        Assert.False(reader.ErrorWasSizeLimit);
    }

    [Fact]
    public void Read_MoreArgumentsThanCustomLimit_FailsWithInvalidMultibulkLength()
    {
        var limits = new RespLimits { MaxArguments = 2 };
        Assert.Equal(ParseStatus.Complete, Whole(Bytes("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), limits).Status);
        var parsed = Whole(Bytes("*3\r\n"), limits);
        Assert.Equal("Protocol error: invalid multibulk length", parsed.Error);
    }

    [Fact]
    public void Read_MultibulkCountLineOverInlineLimit_FailsWithTooBigMbulkCountString()
    {
        var data = Bytes("*" + new string('1', 70_000));
        Assert.Equal("Protocol error: too big mbulk count string", Whole(data).Error);
        AssertSame(Whole(data), Growing(data, 4096), "4 KB reads");
        // Up to the limit it is only incomplete.
        Assert.Equal(ParseStatus.Incomplete, Whole(data[..RespLimits.DefaultMaxInlineLength]).Status);
    }

    [Fact]
    public void Read_BulkCountLineOverInlineLimit_FailsWithTooBigBulkCountString()
    {
        var data = Bytes("*1\r\n$" + new string('1', 70_000));
        Assert.Equal("Protocol error: too big bulk count string", Whole(data).Error);
        AssertSame(Whole(data), Growing(data, 4096), "4 KB reads");
        // Redis applies the same bound before it looks at the line's first byte.
        Assert.Equal("Protocol error: too big bulk count string", Whole(Bytes("*1\r\nx" + new string('a', 70_000))).Error);
    }

    [Fact]
    public void Read_OneMegabyteInlineLine_FailsWithTooBigInlineRequest()
    {
        var data = Bytes("SET k " + new string('a', 1024 * 1024));
        var whole = Whole(data);
        Assert.Equal(ParseStatus.Error, whole.Status);
        Assert.Equal("Protocol error: too big inline request", whole.Error);
        AssertSame(whole, Growing(data, 16 * 1024), "16 KB reads");
        AssertSame(whole, Whole([.. data, .. "\r\n"u8]), "with its newline");
    }

    [Fact]
    public void Read_InlineLineAtTheLimit_IsAccepted()
    {
        int limit = RespLimits.DefaultMaxInlineLength;
        var line = Bytes("ECHO " + new string('a', limit - 5) + "\n");
        var parsed = Whole(line);
        Assert.Equal(ParseStatus.Complete, parsed.Status);
        AssertSame(parsed, Growing(line, 4096), "4 KB reads");
        AssertSame(parsed, Growing(line, 1000), "1000-byte reads");
    }

    [Fact]
    public void Read_AfterError_NextRequestParsesCleanly()
    {
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Incomplete, reader.TryRead(Bytes("*2\r\n$3\r\nGET\r\n$"), out _));
        Assert.Equal(ParseStatus.Error, reader.TryRead(Bytes("*2\r\n$3\r\nGET\r\n$x\r\n"), out _));
        var parsed = Whole(reader, Bytes("*1\r\n$4\r\nPING\r\n"));
        Assert.Equal(ParseStatus.Complete, parsed.Status);
        Assert.Equal(["PING"], parsed.Strings);
    }

    [Fact]
    public void Read_ResetAfterIncomplete_ForgetsThePartialRequest()
    {
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Incomplete, reader.TryRead(Bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100"), out _));
        reader.Reset();
        var parsed = Whole(reader, Bytes("GET k\r\n"));
        Assert.Equal(["GET", "k"], parsed.Strings);
    }

    public static TheoryData<string, string> UnauthenticatedErrors => new()
    {
        { "*11\r\n", "Protocol error: unauthenticated multibulk length" },
        { "*2147483647\r\n", "Protocol error: unauthenticated multibulk length" },
        { "*1\r\n$16385\r\n", "Protocol error: unauthenticated bulk length" },
        { "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n", "Protocol error: unauthenticated bulk length" },
        { "*1\r\n$536870912\r\n", "Protocol error: unauthenticated bulk length" },
    };

    /// <summary>Redis checks that a length is valid before it checks the limit: a malformed one keeps its own error.</summary>
    public static TheoryData<string, string> UnauthenticatedMalformed => new()
    {
        { "*11x\r\n", "Protocol error: invalid multibulk length" },
        { "*2147483648\r\n", "Protocol error: invalid multibulk length" },
        { "*1\r\n$-1\r\n", "Protocol error: invalid bulk length" },
        { "*1\r\n$536870913\r\n", "Protocol error: invalid bulk length" },
    };

    [Theory]
    [MemberData(nameof(UnauthenticatedErrors))]
    [MemberData(nameof(UnauthenticatedMalformed))]
    public void Read_AuthRequired_OverRedisLimits_FailsAtTheHeaderAtEverySplit(string raw, string message)
    {
        // The header alone is enough: the body is never waited for.
        var parsed = AssertSameAtEverySplit(Bytes(raw), authRequired: true);
        Assert.Equal(ParseStatus.Error, parsed.Status);
        Assert.Equal(message, parsed.Error);
    }

    [Fact]
    public void Read_AuthRequired_AtRedisLimits_IsAccepted()
    {
        var tenArguments = Bytes("*10\r\n" + string.Concat(Enumerable.Repeat("$1\r\na\r\n", 10)));
        Assert.Equal(10, AssertSameAtEverySplit(tenArguments, authRequired: true).Args.Length);
        byte[] bigBulk = [.. Bytes("*2\r\n$4\r\nECHO\r\n$16384\r\n"), .. new byte[16384], .. "\r\n"u8];
        var parsed = Whole(bigBulk, authRequired: true);
        Assert.Equal(ParseStatus.Complete, parsed.Status);
        AssertSame(parsed, Growing(bigBulk, 1000, authRequired: true), "1000-byte reads");
        // Empty and null multibulks, and inline lines, are not limited.
        Assert.Equal(ParseStatus.Complete, Whole(Bytes("*0\r\n"), authRequired: true).Status);
        Assert.Equal(ParseStatus.Complete, Whole(Bytes("*-20\r\n"), authRequired: true).Status);
        Assert.Equal(12, Whole(Bytes("a b c d e f g h i j k l\r\n"), authRequired: true).Args.Length);
    }

    [Fact]
    public void Read_AuthRequiredCleared_LimitsNoLongerApply()
    {
        var reader = NewReader(authRequired: true);
        Assert.Equal(ParseStatus.Error, reader.TryRead(Bytes("*11\r\n"), out _));
        reader.AuthRequired = false; // AUTH succeeded
        byte[] request = [.. Bytes("*11\r\n"), .. Bytes(string.Concat(Enumerable.Repeat("$1\r\na\r\n", 10))),
            .. Bytes("$20000\r\n"), .. new byte[20000], .. "\r\n"u8];
        Assert.Equal(ParseStatus.Complete, reader.TryRead(request, out int consumed));
        Assert.Equal(request.Length, consumed);
        reader.AuthRequired = true; // RESET
        Assert.Equal(ParseStatus.Error, reader.TryRead(Bytes("*1\r\n$20000\r\n"), out _));
        Assert.Equal("Protocol error: unauthenticated bulk length", reader.Error);
    }

    [Theory]
    [InlineData("PING\0\r\n")]
    [InlineData("ECHO a\0b\r\n")]
    [InlineData("\0\n")]
    [InlineData("PING\r\0\n")]
    [InlineData("*1\0\r\n$4\r\nPING\r\n")]
    [InlineData("*\0\r\n")]
    [InlineData("*1\r\n$4\0\r\nPING\r\n")]
    [InlineData("*1\r\n\0\r\n")]
    [InlineData("*2\r\n$4\r\nECHO\r\n$1\0\r\na\r\n")]
    public void Read_NulBeforeTheLineEnd_WaitsLikeRedisStrchr(string raw)
    {
        // Redis finds a line's end with strchr, which stops at the NUL: the line never ends, whatever follows.
        byte[] data = [.. Bytes(raw), .. Bytes("PING\r\n*1\r\n$4\r\nPING\r\n")];
        var parsed = AssertSameAtEverySplit(data);
        Assert.Equal(ParseStatus.Incomplete, parsed.Status);
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Incomplete, reader.TryRead(data, out _));
        Assert.True(reader.NeededLength > RespLimits.DefaultMaxInlineLength); // nothing can happen before the line is too big
    }

    [Theory]
    [InlineData("ECHO a\0b\r\n", "Protocol error: too big inline request")]
    [InlineData("*1\0\r\n", "Protocol error: too big mbulk count string")]
    [InlineData("*1\r\n$4\0\r\nPING\r\n", "Protocol error: too big bulk count string")]
    [InlineData("*1\r\n\0\r\n", "Protocol error: too big bulk count string")]
    public void Read_NulBeforeTheLineEnd_FailsOnceTheBufferPassesTheInlineLimit(string raw, string message)
    {
        byte[] data = [.. Bytes(raw), .. Bytes(new string('a', RespLimits.DefaultMaxInlineLength))];
        var whole = Whole(data);
        Assert.Equal(ParseStatus.Error, whole.Status);
        Assert.Equal(message, whole.Error);
        AssertSame(whole, Growing(data, 4096), "4 KB reads");
        Assert.Equal(ParseStatus.Incomplete, Whole(data[..RespLimits.DefaultMaxInlineLength]).Status);
    }

    [Fact]
    public void Read_NulAfterTheLineEnd_OrInsideBulkData_IsData()
    {
        AssertParses("ECHO a\r\n", "ECHO", "a");
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Complete, reader.TryRead(Bytes("ECHO a\r\n\0"), out int consumed));
        Assert.Equal(8, consumed);
        AssertParses("*2\r\n$4\r\nECHO\r\n$3\r\n\0\r\0\r\n", "ECHO", "\0\r\0");
    }

    [Fact]
    public void WriteError_NonAsciiByte_IsSentRawAsRedisDoes()
    {
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Error, reader.TryRead([.. Bytes("*1\r\n"), 0xff, .. "\r\n"u8], out _));
        using var output = new ByteBuffer();
        reader.WriteError(output);
        Assert.Equal([.. "-ERR Protocol error: expected '$', got '"u8, 0xff, .. "'\r\n"u8], output.Span.ToArray());
    }

    [Fact]
    public void WriteError_CarriageReturnInsteadOfDollar_BecomesSpace()
    {
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Error, reader.TryRead(Bytes("*1\r\n\r\r\n"), out _));
        using var output = new ByteBuffer();
        reader.WriteError(output);
        Assert.Equal("-ERR Protocol error: expected '$', got ' '\r\n", Encoding.Latin1.GetString(output.Span));
    }

    [Fact]
    public void FreshReader_GrowsItsArgumentTablesFromNothing_ForInlineAndMultibulk()
    {
        // A reader holds no argument tables until its first request (an idle client holds none): the first request
        // of each kind, with more arguments than the usual table, must grow them from empty.
        var args = Enumerable.Range(0, 40).Select(i => "a" + i).ToArray();
        var inline = new RequestReader();
        Assert.Equal(ParseStatus.Complete, inline.TryRead(Bytes(string.Join(' ', args) + "\r\n"), out _));
        Assert.Equal(40, inline.ArgumentCount);
        var multibulk = new RequestReader();
        var raw = Bytes($"*40\r\n" + string.Concat(args.Select(a => $"${a.Length}\r\n{a}\r\n")));
        Assert.Equal(ParseStatus.Complete, multibulk.TryRead(raw, out int consumed));
        Assert.Equal(raw.Length, consumed);
        Assert.Equal(40, multibulk.ArgumentCount);
        Assert.Equal("a39", Encoding.ASCII.GetString(multibulk.Argument(raw, 39)));
    }
}
