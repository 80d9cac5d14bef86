using static Rampart.Protocol.Tests.RequestFeed;

namespace Rampart.Protocol.Tests;

/// <summary>Seeded random streams: bounded iterations, reproducible failures (the seed is in the message).</summary>
public class RequestReaderPropertyTests
{
    private static readonly byte[] InlineChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:.-{}"u8.ToArray();

    private static (byte[] Bytes, byte[][] Args) RandomRequest(Random random)
    {
        int count = random.Next(1, 8);
        var args = new byte[count][];
        var bytes = new List<byte>();
        if (random.Next(3) == 0)
        {
            // Inline, with no quotes or escapes: runs of safe characters separated by spaces and tabs.
            for (int i = 0; i < count; i++)
            {
                args[i] = new byte[random.Next(1, 20)];
                for (int j = 0; j < args[i].Length; j++) args[i][j] = InlineChars[random.Next(InlineChars.Length)];
                if (i > 0 || random.Next(4) == 0)
                    for (int s = random.Next(1, 4); s > 0; s--) bytes.Add(random.Next(3) == 0 ? (byte)'\t' : (byte)' ');
                bytes.AddRange(args[i]);
            }
            if (random.Next(2) == 0) bytes.Add((byte)' ');
            bytes.AddRange(random.Next(4) == 0 ? "\n"u8.ToArray() : "\r\n"u8.ToArray());
        }
        else
        {
            bytes.AddRange(Bytes($"*{count}\r\n"));
            for (int i = 0; i < count; i++)
            {
                args[i] = new byte[random.Next(10) == 0 ? random.Next(0, 5000) : random.Next(0, 40)];
                random.NextBytes(args[i]);
                bytes.AddRange(Bytes($"${args[i].Length}\r\n"));
                bytes.AddRange(args[i]);
                bytes.AddRange("\r\n"u8.ToArray());
            }
        }
        return (bytes.ToArray(), args);
    }

    /// <summary>A session: bytes arrive in chunks; complete requests are taken from the front as they appear.</summary>
    private static List<byte[][]> ParseInChunks(byte[] stream, Func<int> nextChunk)
    {
        var reader = new RequestReader();
        var parsed = new List<byte[][]>();
        int start = 0, received = 0;
        while (true)
        {
            var buffer = stream.AsSpan(start, received - start);
            var status = reader.TryRead(buffer, out int consumed);
            if (status == ParseStatus.Complete)
            {
                Assert.InRange(consumed, 1, buffer.Length);
                parsed.Add(Snapshot(reader, status, consumed, buffer).Args);
                start += consumed;
                continue;
            }
            Assert.Equal(ParseStatus.Incomplete, status);
            if (received == stream.Length) return parsed;
            received = Math.Min(stream.Length, received + nextChunk());
        }
    }

    [Fact]
    public void Read_RandomValidStreamsUnderRandomSplits_ParseSameArguments()
    {
        for (int seed = 0; seed < 60; seed++)
        {
            var random = new Random(seed);
            var requests = Enumerable.Range(0, random.Next(1, 30)).Select(_ => RandomRequest(random)).ToList();
            var stream = requests.SelectMany(r => r.Bytes).ToArray();

            var whole = ParseInChunks(stream, () => stream.Length);
            var small = ParseInChunks(stream, () => random.Next(1, 8));
            var mixed = ParseInChunks(stream, () => random.Next(2) == 0 ? random.Next(1, 4) : random.Next(1, 3000));
            foreach (var (name, result) in new[] { ("whole", whole), ("small chunks", small), ("mixed chunks", mixed) })
            {
                Assert.True(requests.Count == result.Count, $"seed {seed}, {name}: {result.Count} requests instead of {requests.Count}");
                for (int i = 0; i < requests.Count; i++)
                    Assert.True(requests[i].Args.Length == result[i].Length
                                && requests[i].Args.Zip(result[i]).All(p => p.First.AsSpan().SequenceEqual(p.Second)),
                        $"seed {seed}, {name}: request {i} differs");
            }
        }
    }

    [Fact]
    public void Read_RandomRequestsAtEverySplit_ParseSameAsWhole()
    {
        var random = new Random(99);
        for (int i = 0; i < 40; i++)
        {
            var (bytes, args) = RandomRequest(random);
            if (bytes.Length > 600) continue; // every split of a long request is quadratic; the chunk test covers those
            var parsed = AssertSameAtEverySplit(bytes);
            Assert.Equal(args.Length, parsed.Args.Length);
        }
    }

    [Fact]
    public void Read_RandomGarbage_OnlyReturnsResultsAndReaderRecoversAfterReset()
    {
        byte[] alphabet = [.. "*$\r\n\r\n0123456789-+ \"'\\xab"u8, 0, 0xff];
        var valid = Bytes("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        for (int seed = 0; seed < 3000; seed++)
        {
            var random = new Random(seed);
            var garbage = new byte[random.Next(0, 120)];
            for (int i = 0; i < garbage.Length; i++)
                garbage[i] = random.Next(4) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
            if (random.Next(3) == 0 && garbage.Length > 0) garbage[0] = (byte)'*';

            var reader = new RequestReader(new RespLimits { MaxInlineLength = 64, MaxBulkLength = 1000 });
            int start = 0, received = 0;
            try
            {
                while (true)
                {
                    var status = reader.TryRead(garbage.AsSpan(start, received - start), out int consumed);
                    Assert.True(status is ParseStatus.Complete or ParseStatus.Incomplete or ParseStatus.Error, $"seed {seed}");
                    if (status == ParseStatus.Error)
                    {
                        Assert.StartsWith("Protocol error: ", reader.Error);
                        break;
                    }
                    if (status == ParseStatus.Complete)
                    {
                        Assert.InRange(consumed, 1, received - start);
                        for (int a = 0; a < reader.ArgumentCount; a++) _ = reader.Argument(garbage.AsSpan(start, received - start), a);
                        start += consumed;
                        continue;
                    }
                    if (received == garbage.Length) break;
                    received = Math.Min(garbage.Length, received + random.Next(1, 20));
                }
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"seed {seed}: {e.GetType().Name}: {e.Message}");
            }

            reader.Reset();
            var after = Whole(reader, valid);
            Assert.True(after.Status == ParseStatus.Complete && after.Strings.SequenceEqual(["GET", "k"]), $"seed {seed}: {after}");
        }
    }
}
