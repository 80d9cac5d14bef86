using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>
/// Secrets out of the file: <c>${VAR}</c> in any value, and a <c>_file</c> sibling for every password
/// (<c>redis_auth_file</c>, sentinel/cluster/admin <c>password_file</c>). Errors name variables and files, never values.
/// </summary>
public sealed class SecretsTests : IDisposable
{
    private const string Servers = "  servers:\n   - 127.0.0.1:6379:1\n";
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-secrets-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ConfigLoadResult Load(string yaml, params (string Name, string Value)[] env)
    {
        var vars = env.ToDictionary(e => e.Name, e => e.Value);
        return ConfigLoader.LoadText(yaml, ConfigAssert.Source, name => vars.GetValueOrDefault(name));
    }

    private static ProxyConfig Valid(string yaml, params (string, string)[] env)
    {
        var result = Load(yaml, env);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        return result.Config!;
    }

    private string SecretFile(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a$b$$c$", "a$b$$c$")] // no "${": read exactly as before
    [InlineData("${PW}", "from-env")]
    [InlineData("pre-${PW}-post", "pre-from-env-post")]
    [InlineData("${UNSET:-fallback}", "fallback")]
    [InlineData("${PW:-fallback}", "from-env")]
    [InlineData("$${PW}", "${PW}")]
    [InlineData("${EMPTY:-d}", "d")]
    public void Expand_SubstitutesVariablesAndKeepsEverythingElse(string text, string expected)
    {
        var env = new Dictionary<string, string> { ["PW"] = "from-env", ["EMPTY"] = "" };
        Assert.Equal(expected, EnvironmentExpansion.Expand(text, n => env.GetValueOrDefault(n), out var error));
        Assert.Null(error);
    }

    [Fact]
    public void Expand_TextWithoutDollarBrace_IsTheSameString()
    {
        const string text = "p@$$w0rd";
        Assert.Same(text, EnvironmentExpansion.Expand(text, _ => throw new InvalidOperationException(), out _));
    }

    [Theory]
    [InlineData("${NOPE}", "environment variable NOPE is not set")]
    [InlineData("${EMPTY}", "environment variable EMPTY is empty")]
    [InlineData("x${PW", "has no closing '}'")]
    [InlineData("${1X}", "must be followed by a variable name")]
    [InlineData("${}", "must be followed by a variable name")]
    public void Expand_Errors_NameTheVariableNeverAValue(string text, string fragment)
    {
        var env = new Dictionary<string, string> { ["PW"] = "Zq-secret-value", ["EMPTY"] = "" };
        Assert.Null(EnvironmentExpansion.Expand(text, n => env.GetValueOrDefault(n), out var error));
        Assert.Contains(fragment, error);
        Assert.DoesNotContain("Zq-secret-value", error);
    }

    [Fact]
    public void EveryKeyAcceptsEnvVariables_ButKeysAreNotExpanded()
    {
        var pool = Assert.Single(Valid("${POOL}:\n  listen: 127.0.0.1:${PORT}\n  timeout: ${T:-400}\n  redis: true\n  redis_auth: ${PW}\n" + Servers,
            ("PORT", "22121"), ("PW", "s3cret"), ("POOL", "no")).Pools);
        Assert.Equal("${POOL}", pool.Name);
        Assert.Equal(22121, pool.Listen.Port);
        Assert.Equal(400, pool.TimeoutMs);
        Assert.Equal("s3cret", pool.RedisAuth);
    }

    [Fact]
    public void UnsetVariable_IsAnErrorAtItsLine_NamingTheVariable()
    {
        var error = Assert.Single(Load("cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  redis_auth: ${REDIS_PW}\n" + Servers).Errors);
        Assert.Equal(4, error.Line);
        Assert.Equal("test.yml:4: environment variable REDIS_PW is not set (write ${REDIS_PW:-default} for a default)", error.ToString());
    }

    [Fact]
    public void WrongValueFromEnvironment_IsQuotedAsWritten_NotAsItsValue()
    {
        var error = Assert.Single(Load("cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  timeout: ${T}\n" + Servers, ("T", "Zq-secret")).Errors);
        Assert.Contains("got '${T}'", error.Message);
        Assert.DoesNotContain("Zq-secret", error.Message);
    }

    [Fact]
    public void RedisAuthFile_ReadsThePassword_LessOneTrailingNewline()
    {
        var file = SecretFile("redis.pw", "s3cret\n\n");
        var pool = Assert.Single(Valid($"cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  redis_auth_file: {file}\n" + Servers).Pools);
        Assert.Equal("s3cret\n", pool.RedisAuth); // one newline trimmed: a second is part of the secret
        File.WriteAllText(file, "s3cret\r\n");
        Assert.Equal("s3cret", Assert.Single(Valid($"cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  redis_auth_file: {file}\n" + Servers).Pools).RedisAuth);
    }

    [Fact]
    public void SecretFile_RelativePath_IsRelativeToTheConfigFile()
    {
        SecretFile("pw", "from-relative");
        var config = Path.Combine(_dir, "rampart.yml");
        File.WriteAllText(config, "cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  redis_auth_file: pw\n" + Servers);
        var loaded = ConfigLoader.LoadFile(config);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        Assert.Equal("from-relative", loaded.Config!.Pools[0].RedisAuth);
    }

    [Fact]
    public void SentinelClusterAndAdmin_PasswordFiles()
    {
        var sentinelPw = SecretFile("sentinel.pw", "sentinel-pw\n");
        var clusterPw = SecretFile("cluster.pw", "cluster-pw\n");
        var adminPw = SecretFile("admin.pw", "admin-pw\n");
        var config = Valid($"rampart:\n  admin:\n    listen: 127.0.0.1:8080\n    user: ops\n    password_file: {adminPw}\n"
            + $"ha:\n  listen: 127.0.0.1:22121\n  redis: true\n  sentinel:\n    addresses: [127.0.0.1:26379]\n    password_file: {sentinelPw}\n  servers:\n   - mymaster\n"
            + $"shop:\n  listen: 127.0.0.1:22122\n  redis: true\n  cluster:\n    nodes: [127.0.0.1:7000]\n    user: app\n    password_file: {clusterPw}\n");
        Assert.Equal("admin-pw", config.Settings.AdminPassword);
        Assert.Equal("sentinel-pw", config.Pools[0].Sentinel!.Password);
        Assert.Equal("cluster-pw", config.Pools[1].Cluster!.Password);
        Assert.Equal([SecretOrigin.File, SecretOrigin.File, SecretOrigin.File], config.Secrets.Select(s => s.Origin));
        Assert.Equal([adminPw, sentinelPw, clusterPw], config.Secrets.Select(s => s.File));
    }

    [Theory]
    [InlineData("cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  redis_auth: a\n  redis_auth_file: {F}\n" + Servers, 5,
        "pool 'cache': redis_auth and redis_auth_file are both given; use one")]
    [InlineData("cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  sentinel:\n    addresses: [127.0.0.1:26379]\n    password_file: {F}\n    password: a\n  servers:\n   - m\n", 7,
        "pool 'cache' sentinel: password and password_file are both given; use one")]
    [InlineData("rampart:\n  admin:\n    listen: 127.0.0.1:8080\n    user: ops\n    password: a\n    password_file: {F}\ncache:\n  listen: 127.0.0.1:22121\n  redis: true\n" + Servers, 6,
        "rampart admin: password and password_file are both given; use one")]
    public void InlineAndFileTogether_IsAnError(string yaml, int line, string message)
    {
        var error = Assert.Single(Load(yaml.Replace("{F}", SecretFile("pw", "x"))).Errors);
        Assert.Equal(line, error.Line);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void SecretFileErrors_NameTheFileNeverItsContent()
    {
        string Yaml(string path) => $"cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  redis_auth_file: {path}\n" + Servers;
        var missing = Assert.Single(Load(Yaml(Path.Combine(_dir, "absent"))).Errors);
        Assert.StartsWith("pool 'cache' redis_auth_file: cannot read " + Path.Combine(_dir, "absent"), missing.Message);
        Assert.Equal(4, missing.Line);

        Assert.Equal($"pool 'cache' redis_auth_file: {SecretFile("empty", "\n")} is empty", Assert.Single(Load(Yaml(Path.Combine(_dir, "empty"))).Errors).Message);

        var bad = Path.Combine(_dir, "latin1");
        File.WriteAllBytes(bad, [(byte)'Z', (byte)'q', 0xE9, (byte)'\n']);
        var notUtf8 = Assert.Single(Load(Yaml(bad)).Errors).Message;
        Assert.Contains("is not valid UTF-8", notUtf8);
        Assert.DoesNotContain("Zq", notUtf8);

        var big = SecretFile("big", new string('x', SecretFileReader.MaxBytes + 1));
        Assert.Contains("is larger than 65536 bytes", Assert.Single(Load(Yaml(big)).Errors).Message);
    }

    [Fact]
    public void ClusterUserWithPasswordFile_IsNotMissingAPassword()
    {
        var error = Assert.Single(Load("shop:\n  listen: 127.0.0.1:22122\n  redis: true\n  cluster:\n    nodes: [127.0.0.1:7000]\n    user: app\n").Errors);
        Assert.Contains("add password: or password_file:", error.Message);
    }

    [Fact]
    public void Secrets_RecordWhereEachCameFrom_InlineEnvironmentOrAclLine()
    {
        var config = Valid("rampart:\n  acl:\n    - user alice on >alice-pw ~* +@all\n    - user bob on #"
            + new string('a', 64) + " ~* +@all\n"
            + "a:\n  listen: 127.0.0.1:22121\n  redis: true\n  redis_auth: inline\n" + Servers
            + "b:\n  listen: 127.0.0.1:22122\n  redis: true\n  redis_auth: ${PW}\n" + Servers, ("PW", "x"));
        Assert.Equal(
            [new SecretSource("rampart acl", 3, SecretOrigin.ConfigFile), new SecretSource("pool 'a' redis_auth", 8, SecretOrigin.ConfigFile),
             new SecretSource("pool 'b' redis_auth", 14, SecretOrigin.Environment)],
            config.Secrets);
    }

    [Fact]
    public void AdminTls_NeedsBothFiles_AndTheyMustLoad()
    {
        const string head = "rampart:\n  admin:\n    listen: 127.0.0.1:8080\n";
        const string pool = "cache:\n  listen: 127.0.0.1:22121\n  redis: true\n" + Servers;
        var cert = SecretFile("cert.pem", "not a certificate");
        Assert.Equal("rampart admin: cert_file and key_file must be given together (PEM files)",
            Assert.Single(Load(head + $"    cert_file: {cert}\n" + pool).Errors).Message);
        var error = Assert.Single(Load(head + $"    cert_file: {cert}\n    key_file: {cert}\n" + pool).Errors);
        Assert.Equal(4, error.Line);
        Assert.Contains("do not load as a PEM certificate and its key", error.Message);
    }
}
