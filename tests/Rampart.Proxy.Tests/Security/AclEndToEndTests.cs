using Rampart.Proxy.Configuration;
using Rampart.Proxy.Security;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Security;

/// <summary>ACL users through a running Rampart in front of a real redis-server: AUTH, NOPERM, ACL WHOAMI/LIST/USERS, pool users.</summary>
public sealed class AclEndToEndTests
{
    private static AclTable Table(params string[] lines) => new(lines.Select(AclRequests.User).ToList());

    private static readonly AclTable Users = Table(
        "user alice on >alice-secret ~app:* &news.* +@read +@write -@dangerous +acl|whoami +@transaction",
        "user ops on >ops-secret ~* &* +@all",
        "user off off >x ~* +@all");

    [Fact]
    public async Task Alice_GetsRedisNopermForCommandsKeysAndChannels_AndOpsSeesTheUsers()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "s3cret");
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { RedisAuth = "s3cret" }, acl: Users);
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal(new RespError("NOAUTH Authentication required."), client.CallText("GET", "app:1"));
        Assert.Equal(new RespError("WRONGPASS invalid username-password pair or user is disabled."), client.CallText("AUTH", "alice", "nope"));
        Assert.Equal(new RespError("WRONGPASS invalid username-password pair or user is disabled."), client.CallText("AUTH", "off", "x"));
        Assert.Equal("OK", client.CallText("AUTH", "alice", "alice-secret"));
        Assert.Equal("alice", client.CallText("ACL", "WHOAMI"));
        Assert.Equal("OK", client.CallText("SET", "app:1", "v"));
        Assert.Equal("v", client.CallText("GET", "app:1"));
        Assert.Equal(new RespError("NOPERM this user has no permissions to access one of the keys used as arguments"), client.CallText("GET", "other"));
        Assert.Equal(new RespError("NOPERM this user has no permissions to run the 'flushall' command"), client.CallText("FLUSHALL"));
        Assert.Equal(new RespError("NOPERM this user has no permissions to run the 'config|get' command"), client.CallText("CONFIG", "GET", "maxmemory"));
        Assert.Equal(new RespError("NOPERM this user has no permissions to run the 'publish' command"), client.CallText("PUBLISH", "news.a", "m"));
        Assert.Equal(new RespError("NOPERM this user has no permissions to run the 'acl|list' command"), client.CallText("ACL", "LIST"));
        // Inside MULTI the check runs at queue time and the transaction is aborted, as Redis does.
        Assert.Equal("OK", client.CallText("MULTI"));
        Assert.Equal(new RespError("NOPERM this user has no permissions to access one of the keys used as arguments"), client.CallText("SET", "other", "v"));
        Assert.IsType<RespError>(client.CallText("EXEC"));

        // The default user keeps redis_auth as its password, with every permission; the refused SET never ran.
        Assert.Equal("OK", client.CallText("AUTH", "s3cret"));
        Assert.Equal("default", client.CallText("ACL", "WHOAMI"));
        Assert.Equal(0L, client.CallText("EXISTS", "other"));

        Assert.Equal("OK", client.CallText("AUTH", "ops", "ops-secret"));
        Assert.IsType<long>(client.CallText("PUBLISH", "elsewhere", "m"));
        var list = Assert.IsType<object?[]>(client.CallText("ACL", "LIST"));
        Assert.Equal(4, list.Length);
        Assert.DoesNotContain(list, line => ((string)line!).Contains("secret"));
        Assert.Contains(list, line => ((string)line!).StartsWith("user alice on #", StringComparison.Ordinal));
        Assert.Equal(new object?[] { "alice", "default", "off", "ops" }, client.CallText("ACL", "USERS"));
        Assert.IsType<RespError>(client.CallText("ACL", "SETUSER", "x"));
    }

    [Fact]
    public async Task PoolUsers_AdmitOnlyTheNamedUsers_AndHello3AuthLogsIn()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { Users = ["alice"] }, acl: Users);
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        // default is not admitted: nobody starts authenticated, and ops cannot log in here.
        Assert.Equal(new RespError("NOAUTH Authentication required."), client.CallText("PING"));
        Assert.Equal(new RespError("WRONGPASS invalid username-password pair or user is disabled."), client.CallText("AUTH", "ops", "ops-secret"));
        Assert.IsType<object?[]>(client.CallText("HELLO", "3", "AUTH", "alice", "alice-secret"));
        Assert.Equal("alice", client.CallText("ACL", "WHOAMI"));
        Assert.Equal(new RespError("NOPERM this user has no permissions to access one of the keys used as arguments"), client.CallText("GET", "x"));
    }

    [Fact]
    public async Task NoAclConfigured_DefaultUserIsOpenAsBefore_AndAclWithoutDefaultGivesRedisDefault()
    {
        using var redis = RedisServerProcess.Start();
        await using (var plain = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis)))
        {
            using var client = RespTestClient.ConnectTcp(plain.Port);
            Assert.Equal("OK", client.CallText("SET", "k", "v"));
            Assert.Equal("default", client.CallText("ACL", "WHOAMI"));
        }
        await using var withAcl = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis), acl: Users);
        using var second = RespTestClient.ConnectTcp(withAcl.Port);
        Assert.Equal("v", second.CallText("GET", "k")); // default: on, nopass, every permission
        Assert.Equal("default", second.CallText("ACL", "WHOAMI"));
    }

    [Fact]
    public async Task Reload_SwapsTheUsers_AndConnectedClientsGetTheNewPermissionsAtOnce()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis), acl: Users);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal("OK", client.CallText("AUTH", "alice", "alice-secret"));
        Assert.IsType<RespError>(client.CallText("GET", "other"));

        var config = rampart.Server.Config;
        var widened = Table("user alice on >alice-secret ~* +@read +acl|whoami", "user ops on >ops-secret ~* &* +@all");
        Assert.True(rampart.Server.Reload(config with { Settings = config.Settings with { Acl = widened } }).Success);
        Assert.Null(client.CallText("GET", "other"));            // the same connection, the new rules
        Assert.IsType<RespError>(client.CallText("SET", "other", "v"));

        // A user the reload removes is logged out: its next command gets NOAUTH.
        var without = Table("user ops on >ops-secret ~* &* +@all", "user default on nopass ~* &* +@all");
        Assert.True(rampart.Server.Reload(config with { Settings = config.Settings with { Acl = without } }).Success);
        Assert.Equal(new RespError("NOAUTH Authentication required."), client.CallText("GET", "other"));
    }

    [Fact]
    public void Config_ReadsAclListAndFile_WithLineNumbersForBadRules()
    {
        var file = Path.Combine(Path.GetTempPath(), $"rampart-acl-{Guid.NewGuid():N}.acl");
        File.WriteAllLines(file, ["user carol on nopass ~* +get", "", "user dave on +nosuch"]);
        try
        {
            var yaml = $"rampart:\n  acl:\n    - user alice on >pw ~app:* +@read\n    - user bob on (~x +get)\n  acl_file: {file}\np:\n  listen: 127.0.0.1:22121\n  redis: true\n  users: [alice, zed]\n  servers:\n    - 127.0.0.1:6379:1\n";
            var loaded = ConfigLoader.LoadText(yaml, "acl.yml");
            var errors = string.Join("\n", loaded.Errors.Select(e => e.ToString()));
            Assert.Contains("acl.yml:4", errors);
            Assert.Contains("selectors are not supported", errors);
            Assert.Contains(file + ":3", errors);
            Assert.Contains("'+nosuch'", errors);
            Assert.True(errors.Contains("'zed'"), errors);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
