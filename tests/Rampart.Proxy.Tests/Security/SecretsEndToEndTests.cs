using System.Net.Http.Headers;
using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Security;

/// <summary>
/// Passwords from files and from the environment reach real redis-servers (<c>--requirepass</c>), a reload re-reads
/// the files, and no secret ever shows: not in the log, not on any admin endpoint, not in <c>rampart check</c>.
/// </summary>
public sealed class SecretsEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-secrets-e2e-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Unique(string what) => $"{what}-{Guid.NewGuid():N}";

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static string Pool(string name, int port, RedisServerProcess server, string auth) =>
        $"{name}:\n  listen: 127.0.0.1:{port}\n  redis: true\n  timeout: 2000\n  {auth}\n  servers:\n    - {server.Endpoint}:1\n";

    [Fact]
    public async Task Pool_AuthenticatesWithPasswordFromFileAndFromEnv_AndReloadRereadsTheFile()
    {
        string filePassword = Unique("file"), envPassword = Unique("env"), variable = "RAMPART_TEST_" + Guid.NewGuid().ToString("N");
        using var fromFile = RedisServerProcess.Start("--requirepass", filePassword);
        using var fromEnv = RedisServerProcess.Start("--requirepass", envPassword);
        var secret = Write("redis.pw", filePassword + "\n");
        Environment.SetEnvironmentVariable(variable, envPassword);
        try
        {
            int filePort = FreePort.Next(), envPort = FreePort.Next();
            string Yaml() => Pool("files", filePort, fromFile, $"redis_auth_file: {secret}")
                + Pool("env", envPort, fromEnv, $"redis_auth: ${{{variable}}}");
            await using var rampart = await RampartFromFile.StartAsync(Yaml());
            using (var client = RespTestClient.ConnectTcp(filePort))
            {
                Assert.Equal("OK", client.CallText("AUTH", filePassword));
                Assert.Equal("OK", client.CallText("SET", "k", "from-file"));
            }
            using (var client = RespTestClient.ConnectTcp(envPort))
            {
                Assert.Equal("OK", client.CallText("AUTH", envPassword));
                Assert.Equal("OK", client.CallText("SET", "k", "from-env"));
            }

            // The server's password changes and so does the file: a reload reads the file again and reconnects with it.
            string rotated = Unique("rotated");
            Assert.Contains("+OK", fromFile.Send($"AUTH {filePassword}\r\nCONFIG SET requirepass {rotated}\r\n"));
            File.WriteAllText(secret, rotated + "\n");
            var outcome = rampart.Reload(Yaml());
            Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
            Assert.Contains("redis_auth changed", outcome.Changes);
            Assert.DoesNotContain(rotated, outcome.Changes);
            using (var client = RespTestClient.ConnectTcp(filePort))
            {
                Assert.Equal("OK", client.CallText("AUTH", rotated));
                await Poll.WaitUntilAsync(() => client.CallText("GET", "k") as string == "from-file", TimeSpan.FromSeconds(10));
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task NoSecret_AppearsInLogsAdminEndpointsOrCheck_AcrossStartReloadAndFailingAuth()
    {
        string envPw = Unique("envpw"), filePw = Unique("filepw"), inlinePw = Unique("inlinepw"), sentinelPw = Unique("sentinelpw"),
            clusterPw = Unique("clusterpw"), adminPw = Unique("adminpw"), aclPw = Unique("aclpw"), rotatedFilePw = Unique("rotated"),
            rotatedInlinePw = Unique("inline2"), brokenPw = Unique("broken");
        string[] secrets = [envPw, filePw, inlinePw, sentinelPw, clusterPw, adminPw, aclPw, rotatedFilePw, rotatedInlinePw, brokenPw];

        using var envRedis = RedisServerProcess.Start("--requirepass", envPw);
        using var fileRedis = RedisServerProcess.Start("--requirepass", filePw);
        using var refusing = RedisServerProcess.Start("--requirepass", Unique("other")); // every AUTH towards it fails
        var filePwPath = Write("redis.pw", filePw + "\n");
        var sentinelPwPath = Write("sentinel.pw", sentinelPw);
        var adminPwPath = Write("admin.pw", adminPw + "\n");
        int a = FreePort.Next(), b = FreePort.Next(), c = FreePort.Next(), d = FreePort.Next(), e = FreePort.Next(), admin = FreePort.Next();
        string Yaml(string inline, string extra = "") =>
            $"rampart:\n  admin:\n    listen: 127.0.0.1:{admin}\n    user: ops\n    password_file: {adminPwPath}\n"
            + $"  acl:\n    - user alice on >{aclPw} ~* &* +@all\n"
            + Pool("env", a, envRedis, "redis_auth: ${RAMPART_SECRET_ENV}")
            + Pool("file", b, fileRedis, $"redis_auth_file: {filePwPath}")
            + Pool("inline", c, refusing, $"redis_auth: {inline}") + extra
            + $"ha:\n  listen: 127.0.0.1:{d}\n  redis: true\n  sentinel:\n    addresses: [{refusing.Endpoint}]\n    password_file: {sentinelPwPath}\n  servers:\n    - mymaster\n"
            + $"shop:\n  listen: 127.0.0.1:{e}\n  redis: true\n  cluster:\n    nodes: [{refusing.Endpoint}]\n    password: ${{RAMPART_SECRET_CLUSTER}}\n";
        var config = Write("rampart.yml", Yaml(inlinePw));
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        string[] env = [$"RAMPART_SECRET_ENV={envPw}", $"RAMPART_SECRET_CLUSTER={clusterPw}"];

        using var check = RampartProcess.StartProgram("/usr/bin/env", [.. env, RampartProcess.ExecutablePath, "check", "--config", config]);
        Assert.True(check.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, check.ExitCode);
        // The config holds inline passwords and the group may read it: a warning naming the setting, not the value.
        Assert.Contains($"{config}:7: warning: rampart acl is written in the configuration file, which is open to group or others (mode 0640)", check.Output);

        using var rampart = RampartProcess.StartProgram("/usr/bin/env", [.. env, RampartProcess.ExecutablePath, "serve", "--config", config]);
        Assert.True(rampart.WaitForOutput("running with", TimeSpan.FromSeconds(20)), rampart.Output);
        var scraped = new StringBuilder();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{admin}"), Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"ops:{adminPw}")));

        using (var client = RespTestClient.ConnectTcp(a))
        {
            Assert.Equal("OK", client.CallText("AUTH", "alice", aclPw));
            Assert.Equal("OK", client.CallText("SET", "k", "v")); // the env password reached redis
        }
        using (var client = RespTestClient.ConnectTcp(b))
        {
            Assert.Equal("OK", client.CallText("AUTH", "alice", aclPw));
            Assert.Equal("OK", client.CallText("SET", "k", "v")); // the file password reached redis
            Assert.StartsWith("WRONGPASS", Assert.IsType<RespError>(client.CallText("AUTH", "alice", "nope")).Message);
        }
        using (var client = RespTestClient.ConnectTcp(c))
        {
            Assert.Equal("OK", client.CallText("AUTH", "alice", aclPw));
            // Redis refuses the pool's AUTH: the client gets an error, which must not quote it either.
            scraped.AppendLine(Assert.IsType<RespError>(client.CallText("GET", "k")).Message);
        }

        // A reload that changes the inline and the file password, one with a broken line holding a password, then a good one.
        Assert.Contains("+OK", fileRedis.Send($"AUTH {filePw}\r\nCONFIG SET requirepass {rotatedFilePw}\r\n"));
        File.WriteAllText(filePwPath, rotatedFilePw + "\n");
        File.WriteAllText(config, Yaml(rotatedInlinePw, extra: $"  redis_auth_file: {filePwPath}\n  timeout: '{brokenPw}\n"));
        rampart.Signal("HUP");
        Assert.True(rampart.WaitForOutput("Configuration reload failed", TimeSpan.FromSeconds(10)), rampart.Output);
        File.WriteAllText(config, Yaml(rotatedInlinePw));
        rampart.Signal("HUP");
        Assert.True(rampart.WaitForOutput("Configuration reload applied", TimeSpan.FromSeconds(10)), rampart.Output);
        Assert.Contains("redis_auth changed", rampart.Output);
        using (var client = RespTestClient.ConnectTcp(b))
        {
            Assert.Equal("OK", client.CallText("AUTH", "alice", aclPw));
            await Poll.WaitUntilAsync(() => client.CallText("GET", "k") as string == "v", TimeSpan.FromSeconds(10));
        }

        foreach (var path in new[] { "/", "/stats", "/metrics", "/healthz", "/readyz", "/events", "/loglevel" })
        {
            using var response = await http.GetAsync(path);
            Assert.True(response.IsSuccessStatusCode || path == "/readyz", $"{path}: {(int)response.StatusCode}");
            scraped.AppendLine(await response.Content.ReadAsStringAsync());
        }
        rampart.Signal("TERM");
        Assert.True(rampart.WaitForExit(TimeSpan.FromSeconds(20)));

        string everything = rampart.Output + check.Output + scraped;
        Assert.Contains("pool 'inline'", everything); // the failing pool is on the dashboard and in the log
        foreach (var secret in secrets)
            Assert.False(everything.Contains(secret, StringComparison.Ordinal), $"{secret} leaked:\n{everything}");
    }

    [Fact]
    public void Check_WarnsAboutASecretFileOthersCanRead_AndStillExitsZero()
    {
        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var secret = Write("redis.pw", Unique("pw"));
        var config = Write("rampart.yml", $"cache:\n  listen: 127.0.0.1:{FreePort.Next()}\n  redis: true\n  redis_auth_file: {secret}\n  servers:\n    - 127.0.0.1:6379:1\n");
        File.SetUnixFileMode(config, owner | UnixFileMode.OtherRead); // no inline secret: the config's own mode is not a concern
        File.SetUnixFileMode(secret, owner | UnixFileMode.OtherRead);
        var (exit, output) = RampartProcess.Run("check", "--config", config);
        Assert.Equal(0, exit);
        Assert.Contains($"{config}:4: warning: pool 'cache' redis_auth_file: {secret} is open to group or others (mode 0604); chmod 600 it (or 400)", output);
        Assert.Single(output.Split('\n'), l => l.Contains("warning"));

        File.SetUnixFileMode(secret, UnixFileMode.UserRead);
        (exit, output) = RampartProcess.Run("check", "--config", config);
        Assert.Equal(0, exit);
        Assert.DoesNotContain("warning", output);
    }
}
