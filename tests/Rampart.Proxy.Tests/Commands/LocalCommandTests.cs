using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>Commands Rampart answers itself, compared with what a real Redis 7.0 answers for the same bytes.</summary>
public sealed class LocalCommandTests(ProxiedRedisFixture fixture) : IClassFixture<ProxiedRedisFixture>
{
    private string ViaRampart(string raw, int lines)
    {
        using var client = new RawClient(fixture.Rampart.Port);
        client.Send(raw);
        return string.Join("\n", Enumerable.Range(0, lines).Select(_ => client.ReadLine()));
    }

    private string ViaRedis(string raw, int lines)
    {
        using var client = new RawClient(fixture.Redis.Port);
        client.Send(raw);
        return string.Join("\n", Enumerable.Range(0, lines).Select(_ => client.ReadLine()));
    }

    [Theory]
    [InlineData("PING", 1)]
    [InlineData("PING|hello", 2)]
    [InlineData("PING|a|b", 1)]
    [InlineData("ECHO|x y", 2)]
    [InlineData("ECHO", 1)]
    [InlineData("NOSUCHCOMMAND|a|b", 1)]
    [InlineData("GET", 1)]
    [InlineData("GET|a|b", 1)]
    [InlineData("CLIENT|NOSUCH", 1)]
    [InlineData("CLIENT", 1)]
    [InlineData("CLIENT|GETNAME", 1)]
    [InlineData("CLIENT|SETNAME|has space", 1)]
    [InlineData("SELECT|0", 1)]
    [InlineData("SELECT|x", 1)]
    [InlineData("AUTH|secret", 1)]
    [InlineData("AUTH|user|secret", 1)]
    [InlineData("HELLO|4", 1)]
    [InlineData("HELLO|x", 1)]
    [InlineData("RESET", 1)]
    [InlineData("COMMAND|COUNT", 1)]
    [InlineData("CLIENT|KILL|1.2.3.4:5", 1)]
    [InlineData("CLIENT|KILL|ID|0", 1)]
    [InlineData("CLIENT|KILL|ID|x", 1)]
    [InlineData("CLIENT|KILL|ID|99999999", 1)]
    [InlineData("CLIENT|KILL|ID", 1)]
    [InlineData("CLIENT|KILL|TYPE|foo", 1)]
    [InlineData("CLIENT|KILL|TYPE|master", 1)]
    [InlineData("CLIENT|KILL|TYPE|normal|SKIPME|maybe", 1)]
    [InlineData("CLIENT|KILL|ADDR|1.2.3.4:5", 1)]
    [InlineData("CLIENT|KILL|LADDR|1.2.3.4:5", 1)]
    [InlineData("CLIENT|KILL|FOO|bar", 1)]
    [InlineData("CLIENT|KILL|USER|nobody", 1)]
    [InlineData("CLIENT|KILL|MAXAGE|5", 1)]
    [InlineData("CLIENT|LIST|TYPE|foo", 1)]
    [InlineData("CLIENT|LIST|TYPE", 1)]
    [InlineData("CLIENT|LIST|TYPE|master", 2)]
    [InlineData("CLIENT|LIST|ID|x", 1)]
    [InlineData("CLIENT|LIST|ID|0", 2)]
    [InlineData("CLIENT|LIST|FOO", 1)]
    [InlineData("CLIENT|NO-EVICT|maybe", 1)]
    [InlineData("CLIENT|NO-EVICT|on", 1)]
    [InlineData("CLIENT|NO-EVICT|OFF", 1)]
    [InlineData("AUTH|default|anything", 1)]
    [InlineData("HELLO|2|AUTH|bob|x", 1)]
    [InlineData("HELLO|2|SETNAME|has space", 1)]
    [InlineData("HELLO|2|SETNAME", 1)]
    [InlineData("HELLO|2|AUTH|default", 1)]
    public void LocalAnswer_IsByteForByteWhatRedisAnswers(string command, int lines)
    {
        string raw = RespText.Command(command.Split('|'));
        Assert.Equal(ViaRedis(raw, lines), ViaRampart(raw, lines));
    }

    [Fact]
    public void ClientSetNameThenGetName_IsPerClient()
    {
        using var a = new RawClient(fixture.Rampart.Port);
        using var b = new RawClient(fixture.Rampart.Port);
        a.Send(RespText.Command("CLIENT", "SETNAME", "alpha"));
        Assert.Equal("+OK", a.ReadLine());
        a.Send(RespText.Command("CLIENT", "GETNAME"));
        Assert.Equal("$5", a.ReadLine());
        Assert.Equal("alpha", a.ReadLine());
        b.Send(RespText.Command("CLIENT", "GETNAME"));
        Assert.Equal("$-1", b.ReadLine());
    }

    [Fact]
    public void Select_OtherDatabase_IsRefusedWithReason()
    {
        string reply = ViaRampart(RespText.Command("SELECT", "3"), 1);
        Assert.StartsWith("-ERR rampart: SELECT 3 is not supported", reply);
    }

    [Fact]
    public void Hello2_ReportsServerVersionAndProtocol()
    {
        using var client = new RawClient(fixture.Rampart.Port);
        client.Send(RespText.Command("HELLO", "2"));
        Assert.Equal("*14", client.ReadLine());
        var fields = Enumerable.Range(0, 14).Select(_ => ReadValue(client)).ToList();
        Assert.Equal("redis", fields[1]);
        Assert.Equal(fixture.Redis.Send("INFO server\r\n").Split("\r\n").First(l => l.StartsWith("redis_version:"))["redis_version:".Length..], fields[3]);
        Assert.Equal("2", fields[5]);
    }

    // MULTI, SUBSCRIBE, blocking calls and CLIENT TRACKING get dedicated connections (tests in Pinning/); MONITOR
    // stays refused by default (a pool's commands: allow lets it through on a connection of its own) and SYNC always.
    [Theory]
    [InlineData("MONITOR")]
    [InlineData("SYNC")]
    public void ConnectionStateCommands_AreRefusedWithReason_AndTheConnectionStaysUsable(string command)
    {
        using var client = new RawClient(fixture.Rampart.Port);
        client.Send(RespText.Command(command.Split('|')));
        string reply = client.ReadLine();
        Assert.StartsWith("-ERR '", reply);
        Assert.Contains("rampart", reply);
        client.AssertStillServes();
    }

    private static string ReadValue(RawClient client)
    {
        string line = client.ReadLine();
        return line[0] == '$' ? client.ReadLine() : line[1..];
    }
}
