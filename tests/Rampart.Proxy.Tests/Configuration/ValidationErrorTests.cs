namespace Rampart.Proxy.Tests.Configuration;

/// <summary>Each error, with its exact message and the line of the offending key or value.</summary>
public class ValidationErrorTests
{
    /// <summary>
    /// A valid pool with <paramref name="line3"/> inserted as line 3, and redis: true after it unless line 3 is
    /// itself the redis key.
    /// </summary>
    private static string PoolWith(string line3) => $"""
        p:
          listen: 127.0.0.1:22121
        {line3}
        {(line3.TrimStart().StartsWith("redis:", StringComparison.Ordinal) ? "" : "  redis: true\n")}  servers:
           - 127.0.0.1:6379:1
        """;

    [Theory]
    [InlineData("  hash: fnv1a_65", "pool 'p': hash 'fnv1a_65' is not valid (did you mean 'fnv1a_64'?); expected one of: one_at_a_time, md5, crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, jenkins")]
    [InlineData("  distribution: consistent", "pool 'p': distribution 'consistent' is not valid; expected one of: ketama, modula, random")]
    [InlineData("  hash_tag: \"{\"", "pool 'p': hash_tag must be exactly two characters, such as \"{}\", got '{'")]
    [InlineData("  hash_tag: \"{}}\"", "pool 'p': hash_tag must be exactly two characters, such as \"{}\", got '{}}'")]
    [InlineData("  timeout: -1", "pool 'p': timeout must be a whole number >= 0 (milliseconds), got '-1'")]
    [InlineData("  timeout: 1.5", "pool 'p': timeout must be a whole number >= 0 (milliseconds), got '1.5'")]
    [InlineData("  timeout: 99999999999", "pool 'p': timeout must be a whole number >= 0 (milliseconds), got '99999999999'")]
    [InlineData("  backlog: -5", "pool 'p': backlog must be a whole number >= 0 (the listen queue length), got '-5'")]
    [InlineData("  client_connections: many", "pool 'p': client_connections must be a whole number >= 0 (0 = unlimited), got 'many'")]
    [InlineData("  server_connections: 0", "pool 'p': server_connections must be a whole number >= 1 (connections to each server), got '0'")]
    [InlineData("  server_retry_timeout: -1", "pool 'p': server_retry_timeout must be a whole number >= 0 (milliseconds), got '-1'")]
    [InlineData("  server_failure_limit: x", "pool 'p': server_failure_limit must be a whole number >= 0 (consecutive failures), got 'x'")]
    [InlineData("  redis_db: -1", "pool 'p': redis_db must be a whole number >= 0 (a database number), got '-1'")]
    [InlineData("  redis: yes", "pool 'p': redis must be true or false, got 'yes'")]
    [InlineData("  preconnect: True", "pool 'p': preconnect must be true or false, got 'True'")]
    [InlineData("  auto_eject_hosts: 1", "pool 'p': auto_eject_hosts must be true or false, got '1'")]
    [InlineData("  tcpkeepalive: on", "pool 'p': tcpkeepalive must be true or false, got 'on'")]
    [InlineData("  redis: false", "pool 'p': memcached pools (redis: false) are not supported; Rampart speaks the Redis protocol only")]
    [InlineData("  redis_auth:", "pool 'p': redis_auth has no value")]
    [InlineData("  timeout: [1, 2]", "pool 'p': timeout must be a single value, not a list or mapping")]
    [InlineData("  client_output_buffer: 0", "pool 'p': client_output_buffer must be a positive size in bytes, such as 67108864 or 64mb, got '0'")]
    [InlineData("  client_output_buffer: 64 parsecs", "pool 'p': client_output_buffer must be a positive size in bytes, such as 67108864 or 64mb, got '64 parsecs'")]
    [InlineData("  pinned_connections: -1", "pool 'p': pinned_connections must be a whole number >= 0 (dedicated connections per server for transactions, subscribers and blocking calls; 0 = none), got '-1'")]
    [InlineData("  pinned_connections: lots", "pool 'p': pinned_connections must be a whole number >= 0 (dedicated connections per server for transactions, subscribers and blocking calls; 0 = none), got 'lots'")]
    [InlineData("  pinned_reserve: 8", "pool 'p' pinned_reserve must be a mapping of dedicated connections per server kept for each kind, such as {transactions: 8, subscribers: 32, blocking: 8}")]
    [InlineData("  pinned_reserve: {transactions: -1}", "pool 'p' pinned_reserve: transactions must be a whole number >= 0 (dedicated connections per server kept for transactions), got '-1'")]
    [InlineData("  pinned_reserve: {blocking: many}", "pool 'p' pinned_reserve: blocking must be a whole number >= 0 (dedicated connections per server kept for blocking calls), got 'many'")]
    [InlineData("  pinned_reserve: {subscriber: 1}", "unknown key 'subscriber' in pool 'p' pinned_reserve (did you mean 'subscribers'?)")]
    [InlineData("  pinned_reserve: {subscribers: 100}", "pool 'p': pinned_reserve keeps 164 dedicated connections per server (transactions 32, subscribers 100, blocking 32), more than pinned_connections (128); the reserves must fit in it (a kind left out keeps a quarter of it)")]
    [InlineData("  pinned_min_idle: -1", "pool 'p': pinned_min_idle must be a whole number >= 0 (idle dedicated connections kept open per server, ready for a transaction or blocking call; 0 = none), got '-1'")]
    [InlineData("  pinned_min_idle: 200", "pool 'p': pinned_min_idle (200) is more than pinned_connections (128); the idle connections kept open count against it")]
    [InlineData("  servrs: x", "unknown key 'servrs' in pool 'p' (did you mean 'servers'?)")]
    [InlineData("  hash_tags: \"{}\"", "unknown key 'hash_tags' in pool 'p' (did you mean 'hash_tag'?)")]
    [InlineData("  frobnicate: 1", "unknown key 'frobnicate' in pool 'p'")]
    [InlineData("  listen: 127.0.0.1:22122", "pool 'p': key 'listen' is a duplicate (first at line 2)")]
    public void BadSettingIsReportedOnItsLine(string line3, string message)
    {
        var error = ConfigAssert.OneError(PoolWith(line3), 3, message);
        Assert.Equal(message, error.Message);
        Assert.Equal($"test.yml:3: {message}", error.ToString());
    }

    [Fact]
    public void PinnedReserveMustFitInPinnedConnections_WrittenAfterIt()
    {
        // The total is read after every key, so the order of the two keys does not matter; the error is on pinned_reserve.
        var yaml = "p:\n  listen: 127.0.0.1:22121\n  redis: true\n  pinned_reserve:\n    transactions: 4\n    subscribers: 4\n"
            + "    blocking: 4\n  pinned_connections: 10\n  servers:\n   - 127.0.0.1:6379:1\n";
        var message = "pool 'p': pinned_reserve keeps 12 dedicated connections per server (transactions 4, subscribers 4, blocking 4), more than pinned_connections (10); the reserves must fit in it (a kind left out keeps a quarter of it)";
        Assert.Equal($"test.yml:4: {message}", ConfigAssert.OneError(yaml, 4, message).ToString());
        ConfigAssert.SinglePool(yaml.Replace("pinned_connections: 10", "pinned_connections: 12"));
    }

    [Fact]
    public void PinnedMinIdle_IsReadAndDefaultsToTwo()
    {
        var yaml = "p:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n";
        Assert.Equal(2, ConfigAssert.SinglePool(yaml).PinnedMinIdle);
        Assert.Equal(0, ConfigAssert.SinglePool(yaml.Replace("  redis: true\n", "  redis: true\n  pinned_min_idle: 0\n")).PinnedMinIdle);
        // With pinned_connections: 0 and pinned_min_idle not written, nothing is kept warm and nothing is wrong.
        ConfigAssert.SinglePool(yaml.Replace("  redis: true\n", "  redis: true\n  pinned_connections: 0\n"));
    }

    [Theory]
    [InlineData("127.0.0.1:6379", "pool 'p': '127.0.0.1:6379' is not a server line (expected \"host:port:weight [name]\" or \"/unix/path:weight [name]\")")]
    [InlineData("127.0.0.1", "pool 'p': '127.0.0.1' is not a server line (expected \"host:port:weight [name]\" or \"/unix/path:weight [name]\")")]
    [InlineData("127.0.0.1:6379:0", "pool 'p': '127.0.0.1:6379:0' has an invalid weight '0' (expected a whole number >= 1)")]
    [InlineData("127.0.0.1:6379:-1", "pool 'p': '127.0.0.1:6379:-1' has an invalid weight '-1' (expected a whole number >= 1)")]
    [InlineData("127.0.0.1:70000:1", "pool 'p': server '127.0.0.1:70000' has an invalid port (expected 1-65535); expected \"host:port:weight [name]\" or \"/unix/path:weight [name]\"")]
    [InlineData(":6379:1", "pool 'p': server ':6379' has an invalid host; expected \"host:port:weight [name]\" or \"/unix/path:weight [name]\"")]
    [InlineData("127.0.0.1:6379:1 two words", "pool 'p': '127.0.0.1:6379:1 two words': the server name must be one word")]
    public void BadServerLineIsReportedOnItsLine(string server, string message)
    {
        var yaml = $"p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:6380:1\n   - {server}\n  redis: true\n";
        var error = ConfigAssert.OneError(yaml, 5, message);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("127.0.0.1", "pool 'p': listen '127.0.0.1' is not \"host:port\"; expected host:port, [ipv6]:port or /unix/path [mode]")]
    [InlineData("127.0.0.1:0", "pool 'p': listen '127.0.0.1:0' has an invalid port (expected 1-65535); expected host:port, [ipv6]:port or /unix/path [mode]")]
    [InlineData("[nope]:1", "pool 'p': listen '[nope]:1' has an invalid IPv6 address in brackets; expected host:port, [ipv6]:port or /unix/path [mode]")]
    [InlineData("/tmp/s.sock 0999", "pool 'p': listen '/tmp/s.sock 0999' has an invalid file mode '0999' (expected octal such as 0666, at most 0777)")]
    [InlineData("/tmp/s.sock 1777", "pool 'p': listen '/tmp/s.sock 1777' has an invalid file mode '1777' (expected octal such as 0666, at most 0777)")]
    public void BadListenIsReportedOnItsLine(string listen, string message)
    {
        var yaml = $"p:\n  listen: \"{listen}\"\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n";
        var error = ConfigAssert.OneError(yaml, 2, message);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void MissingListenIsReportedOnThePoolLine() =>
        ConfigAssert.OneError("# comment\np:\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n", 2, "pool 'p': listen is missing");

    [Fact]
    public void MissingServersIsReportedOnThePoolLine() =>
        ConfigAssert.OneError("p:\n  listen: 127.0.0.1:22121\n  redis: true\n", 1, "pool 'p': servers is missing");

    [Fact]
    public void EmptyServersIsAnError() =>
        ConfigAssert.OneError("p:\n  listen: 127.0.0.1:22121\n  servers: []\n  redis: true\n", 3, "pool 'p': servers is empty");

    [Fact]
    public void ServersMustBeAList() =>
        ConfigAssert.OneError("p:\n  listen: 127.0.0.1:22121\n  servers: 127.0.0.1:6379:1\n  redis: true\n", 3, "pool 'p': servers must be a list");

    [Fact]
    public void DuplicateServerNames() =>
        ConfigAssert.OneError("p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 10.0.0.1:6379:1 a\n   - 10.0.0.2:6379:1 a\n  redis: true\n",
            5, "pool 'p': servers have the same name 'a' (first at line 4)");

    [Fact]
    public void DuplicateUnnamedServersCollideOnHostPortWhateverTheWeight() =>
        ConfigAssert.OneError("p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 10.0.0.1:6379:1\n   - 10.0.0.1:6379:2\n  redis: true\n",
            5, "pool 'p': servers have the same name '10.0.0.1:6379' (first at line 4)");

    [Fact]
    public void DuplicateAddressUnderTwoNames() =>
        ConfigAssert.OneError("p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 10.0.0.1:6379:1 a\n   - 10.0.0.1:6379:1 b\n  redis: true\n",
            5, "pool 'p': server address 10.0.0.1:6379 is listed twice (first at line 4)");

    [Fact]
    public void DuplicateListenAcrossPoolsIsReportedOnTheSecond() =>
        ConfigAssert.OneError("""
            a:
              listen: 127.0.0.1:22121
              servers:
               - 127.0.0.1:6379:1
              redis: true
            b:
              listen: 127.0.0.1:22121
              servers:
               - 127.0.0.1:6380:1
              redis: true
            """, 7, "pools 'a' and 'b' have the same listen address '127.0.0.1:22121' (first at line 2)");

    [Fact]
    public void SameUnixSocketWithDifferentModesIsADuplicateListen() =>
        ConfigAssert.OneError("a:\n  listen: /tmp/x 0600\n  servers:\n   - 127.0.0.1:6379:1\n  redis: true\nb:\n  listen: /tmp/x 0666\n  servers:\n   - 127.0.0.1:6380:1\n  redis: true\n",
            7, "have the same listen address '/tmp/x'");

    [Fact]
    public void DuplicatePoolName() =>
        ConfigAssert.OneError("p:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\np:\n  listen: 127.0.0.1:2\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n",
            6, "pool 'p' is defined twice (first at line 1)");

    [Fact]
    public void PoolMustBeAMapping() =>
        ConfigAssert.OneError("p: 127.0.0.1:22121\n", 1, "pool 'p' must be a mapping of settings");

    [Fact]
    public void EmptyFileHasNoPools() =>
        ConfigAssert.OneError("# nothing\n", 1, "the configuration has no pools");

    [Fact]
    public void TopLevelMustBeAMapping() =>
        ConfigAssert.OneError("- a\n- b\n", 1, "the top level must be a mapping");

    [Fact]
    public void YamlSyntaxErrorHasItsLine()
    {
        var error = ConfigAssert.OneError("p:\n  listen: 127.0.0.1:22121\n   servers: [\n", 3, "YAML syntax error: ");
        Assert.DoesNotContain("Line:", error.Message);
    }

    [Theory]
    [InlineData("p:\n  listen: 127.0.0.1:22121\n\tredis: true\n  servers:\n    - 127.0.0.1:6379:1\n", 3)]
    [InlineData("p:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n\t- 127.0.0.1:6379:1\n", 5)]
    [InlineData("# a tab before a comment is fine:\n\t# here\np:\n  listen: 127.0.0.1:22121\n  servers:\n  \t- 127.0.0.1:6379:1\n", 6)]
    public void TabInTheIndentationIsReportedOnItsOwnLine(string yaml, int line) =>
        ConfigAssert.OneError(yaml, line, "YAML syntax error: a tab indents this line; YAML indents with spaces only");

    [Fact]
    public void UnterminatedQuoteIsReportedWhereTheQuoteOpens() =>
        ConfigAssert.OneError("p:\n  listen: \"127.0.0.1:22121\n  servers:\n", 2, "YAML syntax error");

    [Fact]
    public void SecondDocumentIsRefused() =>
        ConfigAssert.OneError("p:\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:6379:1\n  redis: true\n---\nq: {}\n", 6, "exactly one YAML document");

    [Fact]
    public void AnchorsAndAliasesAreRefusedLikeNutcracker()
    {
        var errors = ConfigAssert.Invalid("p:\n  listen: 127.0.0.1:1\n  servers: &s\n   - 127.0.0.1:6379:1\n  redis: true\nq:\n  listen: 127.0.0.1:2\n  redis: true\n  servers: *s\n");
        Assert.Equal([3, 9], errors.Select(e => e.Line));
        Assert.Contains("anchors", errors[0].Message);
        Assert.Contains("aliases (*s)", errors[1].Message);
    }

    [Fact]
    public void AllErrorsOfAFileAreReportedInOnePassInLineOrder()
    {
        var errors = ConfigAssert.Invalid("""
            alpha:
              listen: 127.0.0.1:22121
              hash: fnv
              timeout: -5
              servrs:
               - 127.0.0.1:6379:1
            beta:
              listen: 127.0.0.1:22121
              redis: false
              server_connections: 0
              servers:
               - 127.0.0.1:6379:1
               - 127.0.0.1:6380
            gamma: []
            """);
        Assert.Equal(
        [
            "test.yml:1: pool 'alpha': servers is missing (nutcracker: pool has no servers)",
            "test.yml:1: pool 'alpha': 'redis' is not set, so nutcracker would serve this pool as memcached; Rampart speaks the Redis protocol only: add 'redis: true'",
            "test.yml:3: pool 'alpha': hash 'fnv' is not valid; expected one of: one_at_a_time, md5, crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, jenkins",
            "test.yml:4: pool 'alpha': timeout must be a whole number >= 0 (milliseconds), got '-5'",
            "test.yml:5: unknown key 'servrs' in pool 'alpha' (did you mean 'servers'?)",
            "test.yml:8: pools 'alpha' and 'beta' have the same listen address '127.0.0.1:22121' (first at line 2)",
            "test.yml:9: pool 'beta': memcached pools (redis: false) are not supported; Rampart speaks the Redis protocol only",
            "test.yml:10: pool 'beta': server_connections must be a whole number >= 1 (connections to each server), got '0'",
            "test.yml:13: pool 'beta': '127.0.0.1:6380' is not a server line (expected \"host:port:weight [name]\" or \"/unix/path:weight [name]\")",
            "test.yml:14: pool 'gamma' must be a mapping of settings (listen, servers, ...)",
        ], errors.Select(e => e.ToString()));
    }

    [Fact]
    public void UnreadableFileIsAnErrorNotAnException()
    {
        var result = Rampart.Proxy.Configuration.ConfigLoader.LoadFile("/nonexistent/rampart.yml");
        var error = Assert.Single(result.Errors);
        Assert.Equal("/nonexistent/rampart.yml", error.File);
        Assert.Equal(0, error.Line);
        Assert.Contains("cannot read", error.Message);
    }
}
