using Rampart.Proxy.Security;

namespace Rampart.Proxy.Tests.Security;

/// <summary>The rule parser: Redis's rules in Redis's order, refusals that name the rule, passwords only as SHA-256.</summary>
public sealed class AclRuleParserTests
{
    [Theory]
    [InlineData("user a on foo", "rule 'foo'")]
    [InlineData("user a on +nosuch", "rule '+nosuch'")]
    [InlineData("user a on +@nosuch", "unknown command or category")]
    [InlineData("user a on +client|nosuch", "rule '+client|nosuch'")]
    [InlineData("user a on +select|0", "first-argument rules")]
    [InlineData("user a on ~* ~x", "resetkeys")]
    [InlineData("user a on &* &x", "resetchannels")]
    [InlineData("user a on %X~x", "%R~")]
    [InlineData("user a on (~x +get)", "selectors are not supported")]
    [InlineData("user a on #abc", "64 hex digits")]
    [InlineData("alice on", "user <name>")]
    public void BadRules_AreRefused_NamingTheRule(string line, string expected)
    {
        Assert.Null(AclRuleParser.ParseLine(line, out var error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Passwords_AreKeptAsSha256_AndCheckedByIt()
    {
        var user = AclRequests.User("user a on >one >two <two ~* +@all");
        Assert.True(user.Accepts("one"u8));
        Assert.False(user.Accepts("two"u8));
        Assert.Equal(1, user.PasswordCount);
        Assert.DoesNotContain("one", user.Description);
        // SHA-256("one"), so ACL LIST shows the same line Redis would.
        Assert.Contains("#7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed", user.Description);
        Assert.Contains("(1 password)", user.Summary);
        Assert.DoesNotContain("7692c3ad", user.Summary);

        var hashed = AclRequests.User("user b on #7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed");
        Assert.True(hashed.Accepts("one"u8));
        Assert.False(AclRequests.User("user c off >one").Accepts("one"u8)); // off: no login, whatever the password
        Assert.True(AclRequests.User("user d on nopass").Accepts("anything"u8));
        Assert.False(AclRequests.User("user e on nopass >x").Accepts("y"u8)); // a password after nopass ends nopass
    }

    [Fact]
    public void RulesApplyInOrder_AsRedisDoes()
    {
        var user = AclRequests.User("user a on ~* &* +@all -@dangerous +flushall -get");
        Assert.Equal(AclDenial.None, AclRequests.Check(user, "FLUSHALL"));
        Assert.Equal(AclDenial.Command, AclRequests.Check(user, "GET", "k"));
        Assert.Equal(AclDenial.Command, AclRequests.Check(user, "CONFIG", "SET", "a", "b"));
        Assert.Equal(AclDenial.None, AclRequests.Check(user, "AUTH", "x")); // NO_AUTH commands always pass
        var reset = AclRequests.User("user a on ~* +@all reset");
        Assert.False(reset.Enabled);
        Assert.Equal(AclDenial.Command, AclRequests.Check(reset, "PING"));
        Assert.True(AclRequests.User("user a on allkeys allchannels allcommands").AllowsEverything);
    }

    [Fact]
    public void KeyPatterns_NeedTheAccessTheCommandsKeySpecsDeclare()
    {
        var user = AclRequests.User("user a on %R~r:* %W~w:* +@all");
        Assert.Equal(AclDenial.None, AclRequests.Check(user, "GET", "r:1"));
        Assert.Equal(AclDenial.Key, AclRequests.Check(user, "GET", "w:1"));
        Assert.Equal(AclDenial.None, AclRequests.Check(user, "SET", "w:1", "v"));
        Assert.Equal(AclDenial.Key, AclRequests.Check(user, "SET", "w:1", "v", "GET")); // GET makes SET read too
        Assert.Equal(AclDenial.None, AclRequests.Check(user, "COPY", "r:1", "w:1"));
        Assert.Equal(AclDenial.Key, AclRequests.Check(user, "COPY", "w:1", "r:1"));
        Assert.Equal(AclDenial.None, AclRequests.Check(user, "EXISTS", "w:1", "r:1")); // EXISTS needs no access
        Assert.Equal(AclDenial.Key, AclRequests.Check(user, "EVAL", "return 1", "1", "x"));
    }

    [Theory]
    [InlineData("MGET", "app:1", "app:2", "other")]
    [InlineData("SET", "app:1", "v", "GET")]
    [InlineData("EVAL", "return 1", "2", "app:1", "app:2")]
    [InlineData("SUBSCRIBE", "news.a", "news.b")]
    [InlineData("CONFIG", "SET", "a", "b")]
    public void Check_AllocatesNothing(params string[] args)
    {
        var user = AclRequests.User("user a on %R~app:* ~x* &news.* +@all -config|set");
        Assert.NotNull(AclRequests.Check(user, args, repeat: 1000, out long allocated));
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Channels_PsubscribeMatchesLiterally_OthersByGlob()
    {
        var user = AclRequests.User("user a on ~* &news.* +@all");
        Assert.Equal(AclDenial.None, AclRequests.Check(user, "PUBLISH", "news.a", "m"));
        Assert.Equal(AclDenial.Channel, AclRequests.Check(user, "PUBLISH", "sport", "m"));
        Assert.Equal(AclDenial.None, AclRequests.Check(user, "PSUBSCRIBE", "news.*"));
        Assert.Equal(AclDenial.Channel, AclRequests.Check(user, "PSUBSCRIBE", "news.a"));
        Assert.Equal(AclDenial.Channel, AclRequests.Check(user, "SSUBSCRIBE", "news.a", "x"));
        Assert.Equal(AclDenial.None, AclRequests.Check(user, "UNSUBSCRIBE", "x")); // leaving is never checked
    }
}
