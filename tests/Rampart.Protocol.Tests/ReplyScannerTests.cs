using System.Text;

namespace Rampart.Protocol.Tests;

public class ReplyScannerTests
{
    private static readonly byte[] Guard = Encoding.Latin1.GetBytes("+guard\r\n\u00aa");

    private static byte[] B(string latin1) => Encoding.Latin1.GetBytes(latin1);

    public static TheoryData<string> Replies => new()
    {
        // RESP2
        "+OK\r\n",
        "+\r\n",
        "-ERR unknown command 'x'\r\n",
        ":0\r\n",
        ":-9223372036854775808\r\n",
        "$5\r\nhello\r\n",
        "$0\r\n\r\n",
        "$-1\r\n",
        "$6\r\n\r\n\r\n\r\n\r\n",
        "*-1\r\n",
        "*0\r\n",
        "*2\r\n$3\r\nfoo\r\n$-1\r\n",
        "*3\r\n:1\r\n*2\r\n+a\r\n-b\r\n$1\r\nx\r\n",
        "*2\r\n*0\r\n*-1\r\n",
        "*1\r\n*1\r\n*1\r\n*1\r\n:7\r\n",
        // RESP3
        "_\r\n",
        ",3.14\r\n",
        ",-inf\r\n",
        "#t\r\n",
        "#f\r\n",
        "(3492890328409238509324850943850943825024385\r\n",
        "!21\r\nSYNTAX invalid syntax\r\n",
        "=15\r\ntxt:Some string\r\n",
        "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
        "%0\r\n",
        "~3\r\n+a\r\n+b\r\n+c\r\n",
        "~0\r\n",
        ">3\r\n+message\r\n+channel\r\n$5\r\nhello\r\n",
        "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
        "|0\r\n+OK\r\n",
        "|1\r\n+a\r\n+b\r\n|1\r\n+c\r\n+d\r\n:1\r\n",
        "*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:2\r\n",
        "%1\r\n*2\r\n:1\r\n:2\r\n~1\r\n%1\r\n_\r\n#t\r\n",
        "*3\r\n%0\r\n~0\r\n>0\r\n",
    };

    private static void AssertScansAtEverySplit(byte[] reply)
    {
        var data = (byte[])[.. reply, .. Guard];
        Assert.True(new ReplyScanner().TryScan(data, out int length), "whole");
        Assert.Equal(reply.Length, length);

        for (int split = 0; split < reply.Length; split++)
        {
            var scanner = new ReplyScanner();
            Assert.False(scanner.TryScan(data.AsSpan(0, split), out _), $"prefix of {split} bytes reported complete");
            Assert.True(scanner.TryScan(data, out length), $"split at {split}");
            Assert.Equal(reply.Length, length);
        }

        var bytewise = new ReplyScanner();
        for (int n = 0; n < reply.Length; n++)
            Assert.False(bytewise.TryScan(data.AsSpan(0, n), out _), $"prefix of {n} bytes reported complete");
        Assert.True(bytewise.TryScan(data.AsSpan(0, reply.Length), out length));
        Assert.Equal(reply.Length, length);
    }

    [Theory]
    [MemberData(nameof(Replies))]
    public void Scan_EveryReplyType_FindsItsEndAtEverySplit(string reply) => AssertScansAtEverySplit(B(reply));

    [Fact]
    public void Scan_BulkWithEveryByteValue_FindsItsEnd()
    {
        var value = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        AssertScansAtEverySplit([.. B("$256\r\n"), .. value, .. "\r\n"u8]);
    }

    [Fact]
    public void Scan_PipelinedReplies_AreFoundOneAfterAnother()
    {
        var replies = Replies.Cast<object[]>().Select(row => B((string)row[0])).ToList();
        var stream = replies.SelectMany(r => r).ToArray();
        var scanner = new ReplyScanner();
        int offset = 0;
        foreach (var reply in replies)
        {
            Assert.True(scanner.TryScan(stream.AsSpan(offset), out int length));
            Assert.Equal(reply.Length, length);
            offset += length;
        }
        Assert.Equal(stream.Length, offset);
        Assert.False(scanner.TryScan(ReadOnlySpan<byte>.Empty, out _));
    }

    [Fact]
    public void Scan_NestingDeeperThanTheFirstStack_IsOneReplyAtEverySplit()
    {
        // 257 levels was once refused as garbage, which dropped a shared connection for a reply Redis may send.
        AssertScansAtEverySplit(B(string.Concat(Enumerable.Repeat("*1\r\n", 257)) + "+OK\r\n"));
    }

    [Theory]
    [InlineData("?x\r\n")]
    [InlineData("\r\n")]
    [InlineData("\n")]
    [InlineData("x")]
    [InlineData("+OK\rX")]
    [InlineData("$3\r\nabcXY")]
    [InlineData("$3\r\nabc\rX")]
    [InlineData("$-2\r\n")]
    [InlineData("*-2\r\n")]
    [InlineData("$abc\r\n")]
    [InlineData("$\r\n")]
    [InlineData("$+1\r\nx\r\n")]
    [InlineData("$01\r\nx\r\n")]
    [InlineData("*1 \r\n")]
    [InlineData("*1\r\n?")]
    [InlineData("*2\r\n+a\r\n\r\n")]
    [InlineData("%1\r\n+a\r\n@")]
    [InlineData("$9223372036854775807\r\n")]
    [InlineData("$2147483648\r\n")]
    [InlineData("*9223372036854775807\r\n")]
    [InlineData("%4611686018427387904\r\n")]
    [InlineData("|4611686018427387904\r\n")]
    [InlineData("$99999999999999999999\r\n")]
    public void Scan_Garbage_ThrowsRespProtocolException(string garbage)
    {
        var bytes = B(garbage);
        Assert.Throws<RespProtocolException>(() => new ReplyScanner().TryScan(bytes, out _));
        // Byte by byte it throws too, at the latest when the last byte arrives.
        var scanner = new ReplyScanner();
        Assert.Throws<RespProtocolException>(() =>
        {
            for (int n = 1; n <= bytes.Length; n++) scanner.TryScan(bytes.AsSpan(0, n), out _);
        });
    }

    [Fact]
    public void Scan_RandomGarbage_ReturnsOrThrowsOnlyRespProtocolException()
    {
        byte[] alphabet = [.. "+-:$*_,#(!=%~>|\r\n\r\n0123456789-?"u8, 0, 0xff];
        for (int seed = 0; seed < 3000; seed++)
        {
            var random = new Random(seed);
            var garbage = new byte[random.Next(0, 100)];
            for (int i = 0; i < garbage.Length; i++)
                garbage[i] = random.Next(5) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
            var scanner = new ReplyScanner();
            int start = 0, received = 0;
            try
            {
                while (true)
                {
                    if (scanner.TryScan(garbage.AsSpan(start, received - start), out int length))
                    {
                        Assert.InRange(length, 1, received - start);
                        start += length;
                        continue;
                    }
                    if (received == garbage.Length) break;
                    received = Math.Min(garbage.Length, received + random.Next(1, 10));
                }
            }
            catch (RespProtocolException)
            {
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"seed {seed}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    [Fact]
    public void Scan_AfterResetMidReply_ScansANewReplyFromScratch()
    {
        var scanner = new ReplyScanner();
        Assert.False(scanner.TryScan(B("*3\r\n+a\r\n$10\r\nabc"), out _));
        scanner.Reset();
        Assert.True(scanner.TryScan(B(":1\r\n"), out int length));
        Assert.Equal(4, length);
    }

    [Fact]
    public void Scan_HugeBulkArrivingInPieces_ResumesAndFindsItsEnd()
    {
        var reply = (byte[])[.. B($"*2\r\n+a\r\n${4 * 1024 * 1024}\r\n"), .. new byte[4 * 1024 * 1024], .. "\r\n"u8];
        var scanner = new ReplyScanner();
        int n = 0;
        while (!scanner.TryScan(reply.AsSpan(0, n), out _)) n = Math.Min(reply.Length, n + 65_536);
        Assert.Equal(reply.Length, n);
    }

    // Random RESP3 values, nested, and the exact byte length each must scan to.
    private static void WriteRandomValue(Random random, List<byte> output, int depth)
    {
        int kind = random.Next(depth > 4 ? 9 : 15);
        void Line(string s) => output.AddRange(B(s + "\r\n"));
        switch (kind)
        {
            case 0: Line("+" + new string('s', random.Next(0, 10))); break;
            case 1: Line("-ERR " + random.Next()); break;
            case 2: Line(":" + random.NextInt64(long.MinValue, long.MaxValue)); break;
            case 3: Line("_"); break;
            case 4: Line("," + random.NextDouble().ToString(System.Globalization.CultureInfo.InvariantCulture)); break;
            case 5: Line(random.Next(2) == 0 ? "#t" : "#f"); break;
            case 6: Line("(" + random.NextInt64()); break;
            case 7:
            {
                var value = new byte[random.Next(0, 50)];
                random.NextBytes(value);
                output.AddRange(B("$!="[random.Next(3)] + value.Length.ToString() + "\r\n"));
                output.AddRange(value);
                Line("");
                break;
            }
            case 8: Line(random.Next(2) == 0 ? "$-1" : "*-1"); break;
            case 9: case 10: case 11: case 12:
            {
                char type = "*~>%"[kind - 9];
                int count = random.Next(0, 5);
                Line(type + count.ToString());
                for (int i = 0; i < count * (type == '%' ? 2 : 1); i++) WriteRandomValue(random, output, depth + 1);
                break;
            }
            default:
            {
                int count = random.Next(0, 3);
                Line("|" + count);
                for (int i = 0; i < count * 2; i++) WriteRandomValue(random, output, depth + 1);
                WriteRandomValue(random, output, depth + 1); // the value the attribute belongs to
                break;
            }
        }
    }

    // One to nine random replies back to back, and the length of each.
    private static byte[] RandomReplies(Random random, out List<int> lengths)
    {
        lengths = [];
        var stream = new List<byte>();
        for (int r = random.Next(1, 10); r > 0; r--)
        {
            int before = stream.Count;
            WriteRandomValue(random, stream, 0);
            lengths.Add(stream.Count - before);
        }
        return stream.ToArray();
    }

    [Fact]
    public void Scan_RandomNestedRepliesUnderRandomSplits_FindsExactEnds()
    {
        for (int seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            var data = RandomReplies(random, out var lengths);
            var scanner = new ReplyScanner();
            var found = new List<int>();
            int start = 0, received = 0;
            while (true)
            {
                if (scanner.TryScan(data.AsSpan(start, received - start), out int length))
                {
                    found.Add(length);
                    start += length;
                    continue;
                }
                if (received == data.Length) break;
                received = Math.Min(data.Length, received + random.Next(1, 40));
            }
            Assert.True(lengths.SequenceEqual(found), $"seed {seed}: [{string.Join(",", lengths)}] vs [{string.Join(",", found)}]");
        }
    }

    [Fact]
    public void PassThroughInParts_RandomRepliesUnderRandomSplits_HandsOnEveryByteOnceAndFindsExactEnds()
    {
        // A proxy that hands on what Passable allows and discards it must still find every reply's end, and the
        // bytes it handed on plus each final part must be exactly the stream.
        for (int seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            var data = RandomReplies(random, out var lengths);
            var scanner = new ReplyScanner();
            var found = new List<int>();
            var handedOn = new List<byte>();
            int start = 0, received = 0, partial = 0;
            while (true)
            {
                var window = data.AsSpan(start, received - start);
                if (scanner.TryScan(window, out int length))
                {
                    handedOn.AddRange(window[..length].ToArray());
                    found.Add(partial + length);
                    partial = 0;
                    start += length;
                    continue;
                }
                Assert.InRange(scanner.Passable, 0, window.Length);
                int pass = random.Next(3) == 0 ? 0 : random.Next(0, scanner.Passable + 1);
                handedOn.AddRange(window[..pass].ToArray());
                scanner.Discard(pass);
                partial += pass;
                start += pass;
                if (received == data.Length) break;
                received = Math.Min(data.Length, received + random.Next(1, 40));
            }
            Assert.True(lengths.SequenceEqual(found), $"seed {seed}: [{string.Join(",", lengths)}] vs [{string.Join(",", found)}]");
            Assert.Equal(data, handedOn.ToArray());
        }
    }

    [Fact]
    public void PassThroughInParts_ALargeBulk_PassesAllButItsFinalCrlfBeforeItEnds()
    {
        var scanner = new ReplyScanner();
        var header = B("$1000\r\n");
        var body = new byte[1000];
        Array.Fill(body, (byte)'x');
        var reply = (byte[])[.. header, .. body, .. B("\r\n")];

        Assert.False(scanner.TryScan(reply.AsSpan(0, 500), out _));
        Assert.Equal(500, scanner.Passable);
        scanner.Discard(500);
        // Everything of the body has arrived, its CRLF not yet: the body may pass, the CRLF is checked later.
        Assert.False(scanner.TryScan(reply.AsSpan(500, header.Length + 1000 - 500), out _));
        Assert.Equal(header.Length + 1000 - 500, scanner.Passable);
        scanner.Discard(header.Length + 1000 - 500);
        Assert.True(scanner.TryScan(B("\r\n+next\r\n"), out int length));
        Assert.Equal(2, length);
        Assert.Throws<ArgumentOutOfRangeException>(() => scanner.Discard(1));
    }

    [Fact]
    public void PassThroughInParts_ABulkWithoutItsCrlf_IsStillRefused()
    {
        var scanner = new ReplyScanner();
        Assert.False(scanner.TryScan(B("$3\r\nab"), out _));
        scanner.Discard(scanner.Passable);
        Assert.Throws<RespProtocolException>(() => scanner.TryScan(B("cXY"), out _));
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(100_000)]
    public void Scan_AnyNestingDepth_IsOneReply(int depth)
    {
        // Redis itself sends arrays nested as deep as a Lua table (EVAL "local a = {}; local b = {a}; a[1] = b; ...").
        var reply = (byte[])[.. Enumerable.Repeat(B("*1\r\n"), depth).SelectMany(b => b), .. B(":1\r\n")];
        var data = (byte[])[.. reply, .. Guard];
        Assert.True(new ReplyScanner().TryScan(data, out int length));
        Assert.Equal(reply.Length, length);

        // Also when it arrives in parts, and the scanner is as good as new afterwards.
        var scanner = new ReplyScanner();
        int received = 0;
        while (!scanner.TryScan(data.AsSpan(0, received), out length)) received = Math.Min(data.Length, received + 4096);
        Assert.Equal(reply.Length, length);
        Assert.True(scanner.TryScan(B("+OK\r\n"), out length));
        Assert.Equal(5, length);
    }
}

/// <summary>Replies of every RESP3 type from a real Redis (DEBUG PROTOCOL), scanned at every split.</summary>
public class ReplyScannerRedisTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Theory]
    [InlineData("string")]
    [InlineData("integer")]
    [InlineData("double")]
    [InlineData("bignum")]
    [InlineData("null")]
    [InlineData("array")]
    [InlineData("set")]
    [InlineData("map")]
    [InlineData("attrib")]
    [InlineData("push")]
    [InlineData("verbatim")]
    [InlineData("true")]
    [InlineData("false")]
    public void Scan_RealRedisResp3Reply_FindsItsEndAtEverySplit(string type)
    {
        using var connection = redis.Connect();
        var hello = connection.Exchange("HELLO 3\r\n"u8.ToArray());
        Assert.Equal((byte)'%', hello[0]);
        var request = Encoding.ASCII.GetBytes($"DEBUG PROTOCOL {type}\r\nPING\r\n");
        connection.Send(request);
        var reply = connection.ReadReply()!;
        // A push reply is followed by the command's own reply; both come whole.
        var pong = connection.ReadReply()!;
        if (type == "push") pong = connection.ReadReply()!;
        Assert.Equal("+PONG\r\n", Encoding.ASCII.GetString(pong));

        var data = (byte[])[.. reply, .. pong];
        for (int split = 0; split < reply.Length; split++)
        {
            var scanner = new ReplyScanner();
            Assert.False(scanner.TryScan(data.AsSpan(0, split), out _));
            Assert.True(scanner.TryScan(data, out int length));
            Assert.Equal(reply.Length, length);
        }
    }
}
