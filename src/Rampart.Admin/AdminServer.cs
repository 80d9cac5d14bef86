using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Rampart.Proxy.Transport;
using Rampart.Proxy;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Observability;

namespace Rampart.Admin;

/// <summary>
/// The admin HTTP server (Kestrel, minimal APIs): dashboard, twemproxy stats, Prometheus metrics, health, readiness,
/// topology events and runtime log levels. It reads the engine only through its public surface, chiefly
/// <see cref="ProxyServer.TakeSnapshot"/>, taken from the pool list a reload replaces whole, so it always shows the
/// pools running now. Handlers are plain RequestDelegates writing
/// source-generated JSON: no reflection, Native AOT safe.
/// </summary>
public sealed partial class AdminServer : IAsyncDisposable
{
    // Relaxed escaping: reasons and messages keep their quotes readable ('pool' rather than \u0027pool\u0027).
    private static readonly AdminJsonContext Json = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    private readonly ProxyServer _proxy;
    private readonly AdminOptions _options;
    private readonly RuntimeLogLevels _levels;
    private readonly ILogger _logger;
    private readonly WebApplication _app;
    private readonly AdminMetrics _metrics;
    private readonly SnapshotHistory _history;
    private readonly BasicAuth? _auth;

    private AdminServer(ProxyServer proxy, AdminOptions options, RuntimeLogLevels levels, ILoggerFactory loggers)
    {
        _proxy = proxy;
        _options = options;
        _levels = levels;
        _logger = loggers.CreateLogger("Rampart.Admin");
        _auth = options.RequiresAuth ? new BasicAuth(options.User!, options.Password!) : null;
        _metrics = new AdminMetrics(proxy);
        _history = new SnapshotHistory(proxy, TimeSpan.FromSeconds(1));
        _app = Build(options, loggers);
    }

    /// <summary>The port bound (the real one when the listen address said 0).</summary>
    public int Port { get; private set; }

    /// <summary>Base address, e.g. http://127.0.0.1:8080 (https with TLS).</summary>
    public string Url => $"{(_options.Tls is null ? "http" : "https")}://{FormatHost(ListenAddress.Address)}:{Port}";

    private IPEndPoint ListenAddress { get; set; } = new(IPAddress.Loopback, 0);

    /// <summary>Starts the admin server; throws IOException when its address cannot be bound.</summary>
    public static async Task<AdminServer> StartAsync(ProxyServer proxy, AdminOptions options,
        RuntimeLogLevels? levels = null, ILoggerFactory? loggers = null)
    {
        loggers ??= NullLoggerFactory.Instance;
        if (levels is null)
        {
            levels = new RuntimeLogLevels();
            proxy.RequestSampler.Follow(levels);
        }
        var server = new AdminServer(proxy, options, levels, loggers);
        try
        {
            await server._app.StartAsync();
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
        {
            await server.DisposeAsync();
            throw new IOException($"admin listen {options.Listen}: {e.Message}", e);
        }
        var addresses = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        server.Port = new Uri(addresses.First()).Port;
        server.LogListening(server.Url, options.RequiresAuth ? "with basic auth"
            : "without auth: read-only endpoints are open, POST endpoints are refused until rampart: admin: user and password are set");
        return server;
    }

    private WebApplication Build(AdminOptions options, ILoggerFactory loggers)
    {
        if (!AdminOptions.TryParseListen(options.Listen, out var host, out var port, out var error))
            throw new IOException($"admin listen {options.Listen}: {error}");
        ListenAddress = new IPEndPoint(Resolve(host), port);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Rampart.Admin" });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggers));
        builder.Logging.SetMinimumLevel(LogLevel.Warning); // no line per admin request
        // Loaded here, at start; the config reader already checked that the pair loads. A restart picks up a new one.
        var certificate = options.Tls is { } tls ? AdminCertificate.Load(tls) : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(ListenAddress, listen =>
            {
                if (certificate is not null) listen.UseHttps(certificate);
            });
            kestrel.AddServerHeader = false;
        });
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("rampart", serviceVersion: TwemproxyStats.Version))
            .WithMetrics(metrics => metrics
            .AddMeter(AdminMetrics.MeterName)
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));

        var app = builder.Build();
        app.Use(new AdminAccess(_auth).InvokeAsync);
        app.MapGet("/", Dashboard);
        app.MapGet("/stats", Stats);
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet(AdminAccess.Health, Health);
        app.MapGet(AdminAccess.Readiness, Ready);
        app.MapGet("/events", Events);
        app.MapGet("/loglevel", GetLogLevels);
        // State changes are POST only: a GET can be triggered by a link or an <img>, and PUT/DELETE gain nothing.
        app.MapPost("/loglevel/{category}", PutLogLevel);
        app.MapPost("/loglevel/{category}/reset", DeleteLogLevel);
        app.MapMethods("/loglevel/{category}", ["GET", "HEAD", "PUT", "DELETE", "PATCH"], AdminAccess.PostOnly);
        app.MapMethods("/loglevel/{category}/reset", ["GET", "HEAD", "PUT", "DELETE", "PATCH"], AdminAccess.PostOnly);
        return app;
    }

    private Task Dashboard(HttpContext context)
    {
        var now = _proxy.TakeSnapshot();
        string html = DashboardPage.Render(now, _history.Oldest(), Readiness.Problems(now), _proxy.Events.Snapshot(), _proxy.StartedAt);
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(html);
    }

    private Task Stats(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync(_proxy.GetTwemproxyStatsJson()).AsTask();
    }

    private Task Health(HttpContext context) =>
        WriteJson(context, StatusCodes.Status200OK,
            new HealthReply("ok", (long)(DateTimeOffset.UtcNow - _proxy.StartedAt).TotalSeconds, TwemproxyStats.Version),
            Json.HealthReply);

    private Task Ready(HttpContext context)
    {
        var problems = Readiness.Problems(_proxy.TakeSnapshot());
        return WriteJson(context, problems.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable,
            new ReadyReply(problems.Count == 0, problems), Json.ReadyReply);
    }

    private Task Events(HttpContext context) =>
        WriteJson(context, StatusCodes.Status200OK, new EventsReply(_proxy.Events.Total, _proxy.Events.Snapshot()),
            Json.EventsReply);

    private Task GetLogLevels(HttpContext context) => WriteJson(context, StatusCodes.Status200OK, LogLevels(), Json.LogLevelsReply);

    /// <summary>
    /// POST /loglevel/{category} with <c>{"level": "Debug"}</c> (or the bare level name as the body). The category
    /// <c>default</c> sets the level of every category without its own. For <c>Rampart.Requests</c>,
    /// <c>sampleEvery</c> says one request in how many is logged.
    /// </summary>
    private async Task PutLogLevel(HttpContext context)
    {
        string category = (string)context.Request.RouteValues["category"]!;
        LogLevelRequest? request;
        try
        {
            using var reader = new StreamReader(context.Request.Body);
            string body = (await reader.ReadToEndAsync(context.RequestAborted)).Trim();
            request = body.StartsWith('{')
                ? JsonSerializer.Deserialize(body, Json.LogLevelRequest)
                : new LogLevelRequest(body.Trim('"'));
        }
        catch (JsonException e)
        {
            await WriteJson(context, StatusCodes.Status400BadRequest, new ErrorReply($"the body is not valid JSON: {e.Message}"), Json.ErrorReply);
            return;
        }
        if (request is null || !Enum.TryParse<LogLevel>(request.Level, ignoreCase: true, out var level) || !Enum.IsDefined(level))
        {
            await WriteJson(context, StatusCodes.Status400BadRequest,
                new ErrorReply($"unknown level '{request?.Level}': use Trace, Debug, Information, Warning, Error, Critical or None"),
                Json.ErrorReply);
            return;
        }
        if (request.SampleEvery is int every)
        {
            if (every < 1)
            {
                await WriteJson(context, StatusCodes.Status400BadRequest, new ErrorReply("sampleEvery must be 1 or more"), Json.ErrorReply);
                return;
            }
            _proxy.RequestSampler.SampleEvery = every;
        }
        if (category.Equals("default", StringComparison.OrdinalIgnoreCase)) _levels.Default = level;
        else _levels.Set(category, level);
        LogLevelChanged(category, level.ToString(), _proxy.RequestSampler.Every);
        await GetLogLevels(context);
    }

    private Task DeleteLogLevel(HttpContext context)
    {
        string category = (string)context.Request.RouteValues["category"]!;
        _levels.Set(category, null);
        LogLevelChanged(category, "(inherited)", _proxy.RequestSampler.Every);
        return GetLogLevels(context);
    }

    private LogLevelsReply LogLevels() => new(_levels.Default.ToString(),
        _levels.Overrides.ToDictionary(o => o.Key, o => o.Value.ToString()), _proxy.RequestSampler.Every);

    private static async Task WriteJson<T>(HttpContext context, int status, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }

    private static IPAddress Resolve(string host)
    {
        if (host is "*" or "") return IPAddress.Any;
        if (IPAddress.TryParse(host, out var ip)) return ip;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
        return HostResolver.Resolve(host);
    }

    private static string FormatHost(IPAddress address)
    {
        if (address.Equals(IPAddress.Any)) return "127.0.0.1";
        if (address.Equals(IPAddress.IPv6Any)) return "[::1]";
        return address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _history.Dispose();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            // Never started, or already stopping.
        }
        await _app.DisposeAsync();
        _metrics.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Admin HTTP on {Url} ({Auth}): dashboard /, /stats, /metrics, /healthz, /readyz, /events, /loglevel, POST /loglevel/{{category}}")]
    private partial void LogListening(string url, string auth);

    [LoggerMessage(Level = LogLevel.Information, Message = "Log level of {Category} set to {Level} through the admin API (request sampling: {SampleEvery}, 0 = off)")]
    private partial void LogLevelChanged(string category, string level, int sampleEvery);
}
