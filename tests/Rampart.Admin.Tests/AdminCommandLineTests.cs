using System.Net;
using System.Text.RegularExpressions;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Admin.Tests;

/// <summary>The admin server of the real executable: from the config's <c>rampart: admin:</c> block and from <c>--admin-listen</c>.</summary>
public sealed partial class AdminCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-admin-cli-").FullName;

    private string WriteConfig(string yaml)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.yml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public async Task Serve_WithAnAdminBlock_ServesTheApiWithBasicAuth_AndAdminListenOverridesItsAddress()
    {
        using var redis = RedisServerProcess.Start();
        int poolPort = FreePort.Next();
        string path = WriteConfig($"""
            rampart:
              admin:
                listen: 127.0.0.1:{FreePort.Next()}
                user: ops
                password: s3cret
            alpha:
              listen: 127.0.0.1:{poolPort}
              redis: true
              servers:
                - {redis.Endpoint}:1 r1
            """);

        // --admin-listen HOST:0 replaces the file's address (user and password still apply).
        using var rampart = RampartProcess.Start("serve", "--config", path, "--admin-listen", "127.0.0.1:0");
        Assert.True(rampart.WaitForOutput("Admin HTTP on", TimeSpan.FromSeconds(20)), rampart.Output);
        var url = AdminUrl().Match(rampart.Output).Groups[1].Value;
        Assert.Contains("(with basic auth)", rampart.Output);

        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
        // Issue 18: probes are open; every other endpoint needs the user.
        using (var anonymous = await http.GetAsync("/stats"))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using (var probe = await http.GetAsync("/healthz"))
            Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        http.DefaultRequestHeaders.Authorization = AdminHarness.Basic("ops", "s3cret");
        using (var authorized = await http.GetAsync("/stats"))
            Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
        using (var client = RespTestClient.ConnectTcp(poolPort))
            Assert.Equal("OK", client.CallText("SET", "cli:k", "v"));
        string stats = await http.GetStringAsync("/stats");
        Assert.Contains("\"alpha\":{", stats);
        Assert.Contains("\"requests\":1,", stats);
    }

    [Fact]
    public void Serve_AdminListenOnAPoolsAddress_ExitsOneWithTheReason()
    {
        int poolPort = FreePort.Next();
        string path = WriteConfig($"alpha:\n  listen: 127.0.0.1:{poolPort}\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n");
        var (code, output) = RampartProcess.Run("serve", "--config", path, "--admin-listen", $"127.0.0.1:{poolPort}");
        Assert.Equal(1, code);
        Assert.Contains($"--admin-listen 127.0.0.1:{poolPort} is also the listen address of pool 'alpha'", output);
    }

    [Fact]
    public void Serve_AdminAddressAlreadyInUse_ExitsOneWithTheReason()
    {
        using var redis = RedisServerProcess.Start();
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int busy = ((IPEndPoint)taken.LocalEndpoint).Port;
        string path = WriteConfig($"alpha:\n  listen: 127.0.0.1:{FreePort.Next()}\n  redis: true\n  servers:\n    - {redis.Endpoint}:1\n");
        var (code, output) = RampartProcess.Run("serve", "--config", path, "--admin-listen", $"127.0.0.1:{busy}");
        Assert.Equal(1, code);
        Assert.Contains($"Cannot start: admin listen 127.0.0.1:{busy}:", output);
    }

    [Fact]
    public void Serve_WithoutAdminConfigOrFlag_HasNoAdminServer()
    {
        using var redis = RedisServerProcess.Start();
        string path = WriteConfig($"alpha:\n  listen: 127.0.0.1:{FreePort.Next()}\n  redis: true\n  servers:\n    - {redis.Endpoint}:1\n");
        using var rampart = RampartProcess.Start("serve", "--config", path);
        Assert.True(rampart.WaitForOutput("running with", TimeSpan.FromSeconds(20)), rampart.Output);
        Assert.DoesNotContain("Admin HTTP", rampart.Output);
    }

    [GeneratedRegex(@"Admin HTTP on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex AdminUrl();

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
