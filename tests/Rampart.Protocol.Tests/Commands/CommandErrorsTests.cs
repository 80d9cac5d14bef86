using System.Text;
using Rampart.Protocol.Commands;
using static Rampart.Protocol.Tests.RequestFeed;

namespace Rampart.Protocol.Tests.Commands;

/// <summary>
/// Redis's unknown command and unknown subcommand errors quote the client's bytes as they are (cut at a NUL byte and
/// after 128 bytes, CR and LF as spaces): checked against fixed bytes, and against a real redis-server.
/// </summary>
public class CommandErrorsTests(RedisServer redis) : IClassFixture<RedisServer>
{
    /// <summary>A multibulk request of raw (Latin-1) arguments.</summary>
    private static byte[] Encode(string[] args)
    {
        var request = new List<byte>(Bytes($"*{args.Length}\r\n"));
        foreach (var arg in args) request.AddRange(Bytes($"${arg.Length}\r\n{arg}\r\n"));
        return [.. request];
    }

    private static string Ours(string[] args)
    {
        var bytes = Encode(args);
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Complete, reader.TryRead(bytes, out _));
        var request = new Request(reader, bytes);
        using var output = new ByteBuffer();
        if (CommandTable.Find(request.Command) is { IsContainer: true }) CommandErrors.UnknownSubcommand(output, request);
        else CommandErrors.UnknownCommand(output, request);
        return Encoding.Latin1.GetString(output.Span);
    }

    [Theory]
    [InlineData(new[] { "\u00ff\u00fe" }, "-ERR unknown command '\u00ff\u00fe', with args beginning with: \r\n")]
    [InlineData(new[] { "fo\u00e9", "\u00c3(", "a\r\nb" }, "-ERR unknown command 'fo\u00e9', with args beginning with: '\u00c3(' 'a  b' \r\n")]
    [InlineData(new[] { "z", "a\0b", "c" }, "-ERR unknown command 'z', with args beginning with: 'a' 'c' \r\n")]
    [InlineData(new[] { "\0abc", "x" }, "-ERR unknown command '', with args beginning with: 'x' \r\n")]
    [InlineData(new[] { "CLIENT", "\u00ff\0x" }, "-ERR unknown subcommand '\u00ff'. Try CLIENT HELP.\r\n")]
    [InlineData(new[] { "config", "\u00e9\r" }, "-ERR unknown subcommand '\u00e9 '. Try CONFIG HELP.\r\n")]
    public void Error_QuotesTheClientBytesRaw(string[] args, string expected) => Assert.Equal(expected, Ours(args));

    [Fact]
    public void Error_CutsAt128Bytes_CountingBytesNotCharacters()
    {
        string twoByteHalves = string.Concat(Enumerable.Repeat("\u00e2\u0082", 100)); // invalid UTF-8, 200 bytes
        Assert.Equal($"-ERR unknown command '{twoByteHalves[..128]}', with args beginning with: \r\n", Ours([twoByteHalves]));
        Assert.Equal($"-ERR unknown command 'z', with args beginning with: '{new string('q', 120)}' 'rrrrr' \r\n",
            Ours(["z", new string('q', 120), new string('r', 20), "s"]));
        Assert.Equal($"-ERR unknown subcommand '{twoByteHalves[..128]}'. Try CLIENT HELP.\r\n", Ours(["client", twoByteHalves]));
    }

    public static TheoryData<string[]> RedisCases => new()
    {
        new[] { "\u00ff\u00fe" },
        new[] { "fo\u00e9", "\u00c3(", "a\r\nb" },
        new[] { new string('x', 200), new string('y', 200) },
        new[] { string.Concat(Enumerable.Repeat("\u00e2\u0082", 100)) },
        new[] { "z", "a\0b", "c" },
        new[] { "z", new string('q', 120), new string('r', 20), "s" },
        new[] { "z", "\t\u0001\u007f\"'\\", "\u0080\u00ff" },
        new[] { "\0abc", "x" },
        new[] { "GET\u00ff", "\n" },
        new[] { "CLIENT", "\u00ff\0x" },
        new[] { "client", string.Concat(Enumerable.Repeat("a\r\nb", 50)) },
        new[] { "ConFig", "\u00e9" },
        new[] { "object", string.Concat(Enumerable.Repeat("\u00e2\u0082", 100)), "k" },
    };

    [Theory]
    [MemberData(nameof(RedisCases))]
    public void Error_IsByteForByteWhatRedisSends(string[] args)
    {
        using var connection = redis.Connect();
        var theirs = connection.Exchange(Encode(args));
        Assert.Equal(Encoding.Latin1.GetString(theirs), Ours(args));
    }
}
