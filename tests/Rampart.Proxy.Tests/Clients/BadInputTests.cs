using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>
/// Malformed or hostile client input gets Redis's own error and costs that client its connection, as Redis does;
/// the process and every other client carry on.
/// </summary>
public sealed class BadInputTests(ProxiedRedisFixture fixture) : IClassFixture<ProxiedRedisFixture>
{
    private int Port => fixture.Rampart.Port;

    [Theory]
    [InlineData("*abc\r\n", "-ERR Protocol error: invalid multibulk length")]
    [InlineData("*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length")]
    [InlineData("*2\r\n$3\r\nGET\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'")]
    [InlineData("SET \"unbalanced\r\n", "-ERR Protocol error: unbalanced quotes in request")]
    public void MalformedRequest_GetsRedisErrorThenConnectionCloses(string bytes, string expectedError)
    {
        using var bad = new RawClient(Port);
        using var good = new RawClient(Port);
        bad.Send(bytes);
        Assert.Equal(expectedError, bad.ReadLine());
        Assert.True(bad.IsClosedByServer(TimeSpan.FromSeconds(5)));
        good.AssertStillServes();
    }

    [Fact]
    public void RequestsBeforeTheMalformedOne_StillGetTheirReplies()
    {
        using var client = new RawClient(Port);
        client.Send("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*x\r\n");
        Assert.Equal("+PONG", client.ReadLine());
        Assert.Equal("$2", client.ReadLine());
        Assert.Equal("hi", client.ReadLine());
        Assert.Equal("-ERR Protocol error: invalid multibulk length", client.ReadLine());
        Assert.True(client.IsClosedByServer(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void OneMegabyteInlineLine_IsRefusedAsTooBig()
    {
        using var bad = new RawClient(Port);
        bad.Send(new string('a', 1024 * 1024));
        Assert.Equal("-ERR Protocol error: too big inline request", bad.ReadLine());
        Assert.True(bad.IsClosedByServer(TimeSpan.FromSeconds(5)));
        using var good = new RawClient(Port);
        good.AssertStillServes();
    }

    [Fact]
    public void RandomGarbage_NeverDisturbsOtherClients()
    {
        var random = new Random(7);
        using var good = new RawClient(Port);
        for (int i = 0; i < 30; i++)
        {
            var garbage = new byte[random.Next(1, 2000)];
            random.NextBytes(garbage);
            using var bad = new RawClient(Port);
            try { bad.Send(garbage); } catch (IOException) { }
            good.AssertStillServes();
        }
    }

    [Fact]
    public void HalfARequestThenSilence_OnlyThatClientWaits_AndFinishingItWorks()
    {
        using var slow = new RawClient(Port);
        slow.Send("*3\r\n$3\r\nSET\r\n$4\r\nhalf");
        using var good = new RawClient(Port);
        good.AssertStillServes();
        slow.Send("\r\n$1\r\nv\r\n");
        Assert.Equal("+OK", slow.ReadLine());
    }

    [Fact]
    public void InlineCommands_AsTelnetSendsThem_Work()
    {
        using var client = new RawClient(Port);
        string key = "inline:" + Guid.NewGuid().ToString("N");
        client.Send($"SET {key} \"hello world\"\r\nGET {key}\r\nPING\r\n\r\n");
        Assert.Equal("+OK", client.ReadLine());
        Assert.Equal("$11", client.ReadLine());
        Assert.Equal("hello world", client.ReadLine());
        Assert.Equal("+PONG", client.ReadLine());
    }

    [Fact]
    public void Quit_RepliesOkAndCloses()
    {
        using var client = new RawClient(Port);
        client.Send("*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n");
        Assert.Equal("+OK", client.ReadLine());
        Assert.True(client.IsClosedByServer(TimeSpan.FromSeconds(5)));
    }

    [Theory]
    [InlineData("ECHO a\0b\r\n")]
    [InlineData("PING\r\0\n")]
    [InlineData("*2\r\n$4\r\nECHO\r\n$1\0\r\na\r\n")]
    [InlineData("*1\0\r\n$4\r\nPING\r\n")]
    public void NulBeforeTheLineEnd_IsNeverRun_UntilTooBig_ByteForByteAsRedis(string line)
    {
        // Redis's strchr stops at the NUL and never finds the line's end: the requests after it wait too, until the
        // buffer passes 64 KB and the "too big" error closes the connection.
        var requests = Encoding.Latin1.GetBytes("PING\r\n" + line + "PING\r\n" + new string('a', 70_000));
        var direct = RawClient.ExchangeOnce(fixture.Redis.Port, requests, TimeSpan.FromSeconds(5));
        Assert.StartsWith("+PONG\r\n-ERR Protocol error: too big ", direct.Received);
        Assert.True(direct.Closed);
        Assert.Equal(direct, RawClient.ExchangeOnce(Port, requests, TimeSpan.FromSeconds(5)));
    }

    [Theory]
    [InlineData("\u00ff\u00fe")]
    [InlineData("fo\u00e9|\u00c3(|a\r\nb")]
    [InlineData("z|a\0b|c")]
    [InlineData("\0abc|x")]
    [InlineData("GET\u00ff|\u0080\u00ff|\t\u0001\u007f")]
    [InlineData("CLIENT|\u00ff\0x")]
    [InlineData("client|a\r\nb\u00e9")]
    [InlineData("CLIENT|LIST|TYPE|\u00e9a\r\nb\0c")]
    [InlineData("CLIENT|KILL|TYPE|\u00e9a\r\nb\0c")]
    [InlineData("CLIENT|KILL|USER|\u00e9a\r\nb\0c")]
    [InlineData("HELLO|2|\u00e9a\r\nb\0c")]
    public void ErrorQuotingTheClientsBytes_IsByteForByteAsRedis(string args)
    {
        // Redis quotes the bytes raw (no U+FFFD), stops at a NUL and turns CR and LF into spaces.
        var parts = args.Split('|');
        var request = new StringBuilder().Append('*').Append(parts.Length).Append("\r\n");
        foreach (var part in parts) request.Append('$').Append(part.Length).Append("\r\n").Append(part).Append("\r\n");
        var bytes = Encoding.Latin1.GetBytes(request.ToString());
        var direct = RawClient.ExchangeOnce(fixture.Redis.Port, bytes, TimeSpan.FromMilliseconds(300));
        Assert.StartsWith("-ERR ", direct.Received);
        Assert.Equal(direct, RawClient.ExchangeOnce(Port, bytes, TimeSpan.FromMilliseconds(300)));
    }
}
