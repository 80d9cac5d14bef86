using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>A pool's <c>commands: {allow, deny}</c> block: what it accepts, and each mistake with its line.</summary>
public class CommandRulesTests
{
    private const string Head = "cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n";

    [Fact]
    public void NoCommandsKeyKeepsRampartsDefaults() => Assert.True(ConfigAssert.SinglePool(Head).Commands.IsDefault);

    [Fact]
    public void AllowAndDenyAsIssuedInRedisAclSyntax()
    {
        var pool = ConfigAssert.SinglePool(Head
            + "  commands:\n    allow: [\"@admin\", \"@dangerous\", CONFIG]\n    deny: [FLUSHALL, KEYS, \"CONFIG|SET\"]\n");
        Assert.Equal(["@admin", "@dangerous", "CONFIG"], pool.Commands.Allow);
        Assert.Equal(["FLUSHALL", "KEYS", "CONFIG|SET"], pool.Commands.Deny);
    }

    [Fact]
    public void EntriesAreCaseInsensitiveLikeRedis()
    {
        var pool = ConfigAssert.SinglePool(Head + "  commands:\n    allow: [\"@ADMIN\", config, \"client|PAUSE\", \"@all\"]\n");
        Assert.Equal(4, pool.Commands.Allow.Count);
    }

    [Theory]
    [InlineData("  commands: [CONFIG]\n", 6, "pool 'cache' commands must be a mapping with allow and/or deny lists")]
    [InlineData("  commands:\n    allow: CONFIG\n", 7, "pool 'cache' commands allow must be a list of commands")]
    [InlineData("  commands:\n    allow: [CONFIG, CONFIGG]\n", 7, "pool 'cache' commands allow: 'CONFIGG' is not a Redis command")]
    [InlineData("  commands:\n    allow:\n      - \"@admin\"\n      - \"@adm\"\n", 9, "'@adm' is not a Redis ACL category; expected one of: @all, @keyspace")]
    [InlineData("  commands:\n    deny: [\"CONFIG|SETT\"]\n", 7, "pool 'cache' commands deny: 'SETT' is not a subcommand of CONFIG")]
    [InlineData("  commands:\n    deny: [\"GET|X\"]\n", 7, "GET has no subcommands, so 'GET|X' names nothing")]
    [InlineData("  commands:\n    allow: [SYNC]\n", 7, "'SYNC' cannot be allowed: replication commands are for replicas, not proxy clients")]
    [InlineData("  commands:\n    allow: [\"SCRIPT|DEBUG\"]\n", 7, "'SCRIPT|DEBUG' cannot be allowed: the Lua debugger needs a server connection of its own")]
    [InlineData("  commands:\n    deny: [AUTH]\n", 7, "'AUTH' cannot be denied: clients need it to authenticate")]
    [InlineData("  commands:\n    alow: [CONFIG]\n", 7, "unknown key 'alow' in pool 'cache' commands (did you mean 'allow'?)")]
    public void Errors(string block, int line, string message) => ConfigAssert.OneError(Head + block, line, message);
}
