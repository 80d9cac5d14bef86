using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Rampart.Proxy.Observability;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Admin.Tests;

/// <summary>Every admin endpoint against Rampart in front of real redis-servers.</summary>
[Collection(AdminCollection.Name)]
public sealed class AdminEndpointTests
{
    [Fact]
    public async Task Healthz_Answers200WithStatusOk()
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis));
        using var response = await admin.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ok", json.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Stats_IsTwemproxysJson_WithThePoolItsServerAndLiveCounters()
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis));
        using (var client = RespTestClient.ConnectTcp(admin.Rampart.Port))
            for (int i = 0; i < 7; i++) Assert.Equal("OK", client.CallText("SET", $"stats:{i}", "v"));

        using var json = JsonDocument.Parse(await admin.GetTextAsync("/stats"));
        Assert.Equal("rampart", json.RootElement.GetProperty("service").GetString());
        var server = json.RootElement.GetProperty("test").GetProperty("s0");
        Assert.Equal(7, server.GetProperty("requests").GetInt64());
        Assert.Equal(7, server.GetProperty("responses").GetInt64());
    }

    [Fact]
    public async Task Metrics_PerCommandCountersAndErrors_MoveWithTraffic()
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis));
        using var client = RespTestClient.ConnectTcp(admin.Rampart.Port);
        Assert.Equal("OK", client.CallText("SET", "m:text", "not a number"));
        string before = await admin.GetTextAsync("/metrics");

        for (int i = 0; i < 25; i++) client.CallText("GET", $"m:{i}");
        for (int i = 0; i < 10; i++) Assert.Equal("OK", client.CallText("SET", $"m:{i}", "v"));
        Assert.IsType<RespError>(client.Call("INCR", "m:text")); // Redis answers -ERR: an error of the command INCR
        string after = await admin.GetTextAsync("/metrics");

        double Delta(string metric, params (string, string)[] labels) =>
            PrometheusText.Sum(after, metric, labels) - PrometheusText.Sum(before, metric, labels);
        var pool = ("pool", "test");
        var backend = ("backend", "s0");
        Assert.Equal(25, Delta("rampart_requests_total", pool, backend, ("command", "get")));
        Assert.Equal(10, Delta("rampart_requests_total", pool, backend, ("command", "set")));
        Assert.Equal(1, Delta("rampart_requests_total", pool, backend, ("command", "incr")));
        Assert.Equal(1, Delta("rampart_request_errors_total", pool, backend, ("command", "incr")));
        Assert.Equal(0, Delta("rampart_request_errors_total", pool, backend, ("command", "get")));
        // The histogram's +Inf bucket counts every request, and the per-backend one sums the commands.
        Assert.Equal(25, Delta("rampart_command_duration_seconds_bucket_total", pool, ("command", "get"), ("le", "+Inf")));
        Assert.Equal(36, Delta("rampart_backend_duration_seconds_bucket_total", pool, backend, ("le", "+Inf")));
        Assert.True(Delta("rampart_command_duration_seconds_sum_total", pool, ("command", "get")) > 0);
        Assert.Equal(Delta("rampart_backend_duration_seconds_sum_total", pool, backend),
            Delta("rampart_command_duration_seconds_sum_total", pool), 6); // one backend: the commands' sums add up to it
        Assert.Equal(1, PrometheusText.Sum(after, "rampart_backend_up", pool, backend));
        Assert.Equal(1, PrometheusText.Sum(after, "rampart_clients", pool));
    }

    [Fact]
    public async Task Metrics_CountReloadsByResult_AndConnectionsTheAllowListDenied()
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis));
        var pool = ("pool", "test");
        string before = await admin.GetTextAsync("/metrics");
        Assert.Equal(0, PrometheusText.Sum(before, "rampart_config_reloads_total", ("result", "failed")));
        Assert.Equal(0, PrometheusText.Sum(before, "rampart_clients_denied_total", pool));

        string dir = Directory.CreateTempSubdirectory("rampart-metrics-").FullName;
        try
        {
            string broken = Path.Combine(dir, "broken.yml");
            File.WriteAllText(broken, "test:\n  listen: 127.0.0.1:0\n  redis: true\n  hash: no_such_hash\n  servers:\n    - 127.0.0.1:1:1\n");
            Assert.False(admin.Rampart.Server.ReloadFromFile(broken).Success);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        // The same pool with an allow list that excludes loopback, applied live: the next client is turned away.
        var config = admin.Rampart.Server.Config;
        var denying = config with { Pools = [config.Pools[0] with { Allow = [System.Net.IPNetwork.Parse("10.0.0.0/8")] }] };
        Assert.True(admin.Rampart.Server.Reload(denying).Success);
        using (var refused = new System.Net.Sockets.TcpClient())
        {
            await refused.ConnectAsync("127.0.0.1", admin.Rampart.Port);
            var buffer = new byte[16];
            refused.ReceiveTimeout = 5000;
            Assert.Equal(0, refused.GetStream().Read(buffer)); // closed at accept, nothing written
        }

        string after = await admin.GetTextAsync("/metrics");
        Assert.Equal(1, PrometheusText.Sum(after, "rampart_config_reloads_total", ("result", "failed")));
        Assert.Equal(1, PrometheusText.Sum(after, "rampart_config_reloads_total", ("result", "applied")));
        Assert.Equal(1, PrometheusText.Sum(after, "rampart_clients_denied_total", pool));

        // Both reloads are topology events too (the dashboard lists them), the failed one with the file's reason.
        using var events = JsonDocument.Parse(await admin.GetTextAsync("/events"));
        var kinds = events.RootElement.GetProperty("events").EnumerateArray()
            .Select(e => (Kind: e.GetProperty("kind").GetString(), Message: e.GetProperty("message").GetString()!)).ToList();
        Assert.Contains(kinds, e => e.Kind == "reload-failed" && e.Message.Contains("no_such_hash"));
        Assert.Contains(kinds, e => e.Kind == "reload" && e.Message.Contains("allow"));
    }

    [Fact]
    public async Task Metrics_AndDashboard_CountWhatTheAbuseLimitsDid()
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis) with { MaxConnectionsPerIp = 1, MaxRequestSize = 64 });
        var pool = ("pool", "test");
        string before = await admin.GetTextAsync("/metrics");
        Assert.Equal(0, PrometheusText.Sum(before, "rampart_clients_limited_total", pool, ("limit", "max_connections_per_ip")));
        Assert.DoesNotContain("limits acted", await admin.GetTextAsync("/"));

        using (var first = new RawClient(admin.Rampart.Port))
        {
            first.Send(RespText.Command("PING"));
            Assert.Equal("+PONG", first.ReadLine());
            using (var second = new RawClient(admin.Rampart.Port))
                Assert.Equal(("-ERR max number of clients reached\r\n", true), second.ReadUntilClosed(TimeSpan.FromSeconds(10)));
            first.Send(RespText.Command("SET", "k", new string('v', 100)));
            Assert.Equal(("-ERR Protocol error: invalid bulk length\r\n", true), first.ReadUntilClosed(TimeSpan.FromSeconds(10)));
        }

        string after = await admin.GetTextAsync("/metrics");
        Assert.Equal(1, PrometheusText.Sum(after, "rampart_clients_limited_total", pool, ("limit", "max_connections_per_ip")));
        Assert.Equal(1, PrometheusText.Sum(after, "rampart_clients_limited_total", pool, ("limit", "max_request_size")));
        Assert.Equal(0, PrometheusText.Sum(after, "rampart_clients_limited_total", pool, ("limit", "auth_timeout")));
        Assert.Equal(1, PrometheusText.Sum(after, "rampart_clients_rejected_total", pool));
        Assert.Contains("max_connections_per_ip <b>1</b> · max_request_size <b>1</b>", await admin.GetTextAsync("/"));
    }

    [PrometheusParserFact]
    public async Task Metrics_AreAcceptedByThePrometheusClientsParser()
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis));
        using (var client = RespTestClient.ConnectTcp(admin.Rampart.Port))
            for (int i = 0; i < 5; i++) client.CallText("GET", $"p:{i}");
        string exposition = await admin.GetTextAsync("/metrics");

        var (exitCode, output) = PrometheusParser.Parse(exposition);
        Assert.True(exitCode == 0, $"prometheus_client rejected /metrics:\n{output}");
        Assert.Contains("rampart_requests counter", output);
        Assert.Contains("rampart_command_duration_seconds_bucket counter", output);
    }

    [Fact]
    public async Task Readyz_Is200WhileUp_And503WithTheReason_WhenTheOnlyServerIsDown()
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis));
        using (var ready = await admin.Http.GetAsync("/readyz"))
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        redis.Kill();
        using (var client = RespTestClient.ConnectTcp(admin.Rampart.Port))
            Assert.IsType<RespError>(client.Call("GET", "ready:k")); // the server is gone: Rampart finds out

        var deadline = DateTime.UtcNow.AddSeconds(10);
        HttpStatusCode status;
        string body;
        do
        {
            using var response = await admin.Http.GetAsync("/readyz");
            status = response.StatusCode;
            body = await response.Content.ReadAsStringAsync();
            if (status == HttpStatusCode.ServiceUnavailable) break;
            await Task.Delay(50);
        } while (DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        using var json = JsonDocument.Parse(body);
        Assert.False(json.RootElement.GetProperty("ready").GetBoolean());
        string reason = json.RootElement.GetProperty("reasons")[0].GetString()!;
        Assert.Contains("pool 'test' has no usable backend", reason);
        Assert.Contains("s0 down", reason);
    }

    [Fact]
    public async Task Events_RecordAnEjection_WithItsTime_NamingTheServerAsLogsErrorsAndTheDashboardDo()
    {
        var servers = new[] { RedisServerProcess.Start(), RedisServerProcess.Start() };
        try
        {
            using var sink = new CapturingLoggerProvider();
            using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(sink));
            var pool = RampartUnderTest.Pool(servers) with { AutoEjectHosts = true, ServerFailureLimit = 1, ServerRetryTimeoutMs = 60_000 };
            await using var admin = await AdminHarness.StartAsync(pool, loggers: loggers);
            var started = DateTimeOffset.UtcNow;
            servers[1].Kill();
            using var client = RespTestClient.ConnectTcp(admin.Rampart.Port);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            JsonElement ejection = default;
            var errors = new List<string>();
            for (int i = 0; DateTime.UtcNow < deadline; i++)
            {
                // Keys of the dead server fail until it is ejected.
                if (client.Call("GET", $"eject:{i}") is RespError error) errors.Add(error.Message);
                using var json = JsonDocument.Parse(await admin.GetTextAsync("/events"));
                var events = json.RootElement.GetProperty("events").EnumerateArray().ToList();
                var found = events.FirstOrDefault(e => e.GetProperty("kind").GetString() == "ejected");
                if (found.ValueKind == JsonValueKind.Object)
                {
                    ejection = found.Clone();
                    break;
                }
            }
            Assert.Equal(JsonValueKind.Object, ejection.ValueKind);
            Assert.Equal("test", ejection.GetProperty("pool").GetString());
            // One way to name a server everywhere: its name and its address.
            string label = $"s1 ({servers[1].Endpoint})";
            Assert.Equal(label, ejection.GetProperty("server").GetString());
            Assert.InRange(ejection.GetProperty("time").GetDateTimeOffset(), started, DateTimeOffset.UtcNow);
            Assert.Contains(sink.Lines, l => l.Message.Contains($"server {label} ejected after 1 consecutive failures", StringComparison.Ordinal));
            Assert.NotEmpty(errors);
            Assert.All(errors, e => Assert.Contains($"server {label} ", e, StringComparison.Ordinal));
            // The dashboard shows the same event and the ejected state, in its name and address columns.
            string page = await admin.GetTextAsync("/");
            Assert.Contains("ejected after 1 consecutive failures", page);
            Assert.Contains("class=\"ejected\"", page);
            Assert.Contains($"<td data-field=\"name\">s1</td><td data-field=\"address\"><code>{servers[1].Endpoint}</code></td>", page);
        }
        finally
        {
            foreach (var server in servers) server.Dispose();
        }
    }

    [Fact]
    public async Task Dashboard_ShowsThePoolItsListenAndEveryBackendAsConfigured()
    {
        var servers = new[] { RedisServerProcess.Start(), RedisServerProcess.Start() };
        try
        {
            await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(servers));
            using var response = await admin.Http.GetAsync("/");
            Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            string page = await response.Content.ReadAsStringAsync();
            Assert.Contains("<section class=\"pool\" data-pool=\"test\">", page);
            Assert.Contains($"<code data-field=\"listen\">127.0.0.1:{admin.Rampart.Port}</code>", page);
            for (int i = 0; i < servers.Length; i++)
            {
                Assert.Contains($"<tr data-backend=\"s{i}\">", page);
                Assert.Contains($"<code>{servers[i].Endpoint}</code>", page);
            }
            Assert.Contains("http-equiv=\"refresh\"", page);
            Assert.Contains("Ready: every pool has a usable backend.", page);
        }
        finally
        {
            foreach (var server in servers) server.Dispose();
        }
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/stats")]
    [InlineData("/metrics")]
    [InlineData("/events")]
    [InlineData("/loglevel")]
    public async Task BasicAuth_WithoutOrWithWrongCredentials_Is401WithAChallenge(string path)
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis), user: "ops", password: "s3cret");
        using var anonymous = new HttpClient { BaseAddress = admin.Http.BaseAddress };

        using (var response = await anonymous.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Basic realm=\"Rampart\", charset=\"UTF-8\"", response.Headers.WwwAuthenticate.ToString());
        }
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, path))
        {
            wrong.Headers.Authorization = AdminHarness.Basic("ops", "guess");
            using var response = await anonymous.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        using (var right = await admin.Http.GetAsync(path)) // the harness client sends ops:s3cret
            Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        using (var put = new HttpRequestMessage(HttpMethod.Post, "/loglevel/Rampart") { Content = new StringContent("Debug") })
        {
            using var response = await anonymous.SendAsync(put);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal(LogLevel.Information, admin.Levels.LevelOf("Rampart"));
        }
    }

    [Fact]
    public async Task LogLevel_PutSetsACategoryAtRuntime_AndDebugOnRequestsLogsOneRequestInN()
    {
        using var redis = RedisServerProcess.Start();
        using var sink = new CapturingLoggerProvider();
        var levels = new RuntimeLogLevels(LogLevel.Information);
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace)
            .AddFilter((_, category, level) => levels.IsEnabled(category ?? "", level)).AddProvider(sink));
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis), user: "ops", password: "s3cret", levels: levels, loggers: loggers);
        using var client = RespTestClient.ConnectTcp(admin.Rampart.Port);

        // Off by default: no request is logged.
        for (int i = 0; i < 20; i++) client.CallText("GET", $"log:{i}");
        Assert.DoesNotContain(sink.Lines, l => l.Category == RequestSampler.Category);

        using (var put = await admin.Http.PostAsync("/loglevel/Rampart.Requests", new StringContent("{\"level\":\"Debug\",\"sampleEvery\":4}")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            using var json = JsonDocument.Parse(await put.Content.ReadAsStringAsync());
            Assert.Equal("Debug", json.RootElement.GetProperty("categories").GetProperty("Rampart.Requests").GetString());
            Assert.Equal(4, json.RootElement.GetProperty("requestSampleEvery").GetInt32());
        }
        for (int i = 0; i < 20; i++) client.CallText("GET", $"log:{i}");
        var sampled = sink.Lines.Where(l => l.Category == RequestSampler.Category).ToList();
        Assert.Equal(5, sampled.Count); // 20 requests, one in 4
        Assert.All(sampled, l => Assert.Contains($"Request GET on pool test to s0 ({redis.Endpoint})", l.Message));

        // Other categories follow the default, which can change too; POST .../reset returns a category to it.
        Assert.False(levels.IsEnabled("Rampart.Backends", LogLevel.Debug));
        using (var put = await admin.Http.PostAsync("/loglevel/default", new StringContent("Warning")))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.False(levels.IsEnabled("Rampart.Backends", LogLevel.Information));
        using (var delete = await admin.Http.PostAsync("/loglevel/Rampart.Requests/reset", null))
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        Assert.Equal(0, admin.Rampart.Server.RequestSampler.Every);
        int before = sink.Lines.Count(l => l.Category == RequestSampler.Category);
        for (int i = 0; i < 8; i++) client.CallText("GET", $"log:{i}");
        Assert.Equal(before, sink.Lines.Count(l => l.Category == RequestSampler.Category));
    }

    [Fact]
    public async Task LogLevel_UnknownLevel_Is400WithTheAcceptedNames()
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis), user: "ops", password: "s3cret");
        using var put = await admin.Http.PostAsync("/loglevel/Rampart", new StringContent("Loud"));
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Contains("unknown level 'Loud'", await put.Content.ReadAsStringAsync());
        Assert.Equal(LogLevel.Information, admin.Levels.LevelOf("Rampart"));
    }
}
