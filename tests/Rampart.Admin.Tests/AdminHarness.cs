using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using Rampart.Admin;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Observability;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Admin.Tests;

/// <summary>
/// The admin tests run one at a time: each admin server exports the process-wide "Rampart" meter, and two at once
/// would each see the other's instruments.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AdminCollection
{
    public const string Name = "admin";
}

/// <summary>Rampart in the test process with a pool on a free port and its admin server on another, and an HTTP client.</summary>
public sealed class AdminHarness : IAsyncDisposable
{
    private AdminHarness(RampartUnderTest rampart, AdminServer admin, RuntimeLogLevels levels, HttpMessageHandler handler)
    {
        Rampart = rampart;
        Admin = admin;
        Levels = levels;
        Http = new HttpClient(handler) { BaseAddress = new Uri(admin.Url), Timeout = TimeSpan.FromSeconds(10) };
    }

    public RampartUnderTest Rampart { get; }
    public AdminServer Admin { get; }
    public RuntimeLogLevels Levels { get; }
    public HttpClient Http { get; }

    public static async Task<AdminHarness> StartAsync(PoolConfig pool, string? user = null, string? password = null,
        RuntimeLogLevels? levels = null, ILoggerFactory? loggers = null, AdminTlsFiles? tls = null,
        HttpMessageHandler? handler = null)
    {
        levels ??= new RuntimeLogLevels();
        var rampart = await RampartUnderTest.StartAsync(pool, loggers);
        rampart.Server.RequestSampler.Follow(levels);
        try
        {
            var admin = await AdminServer.StartAsync(rampart.Server,
                new AdminOptions { Listen = "127.0.0.1:0", User = user, Password = password, Tls = tls }, levels, loggers);
            var harness = new AdminHarness(rampart, admin, levels, handler ?? new HttpClientHandler());
            if (user is not null) harness.Http.DefaultRequestHeaders.Authorization = Basic(user, password!);
            return harness;
        }
        catch
        {
            await rampart.DisposeAsync();
            throw;
        }
    }

    public static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    public async Task<string> GetTextAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return body;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Admin.DisposeAsync();
        await Rampart.DisposeAsync();
    }
}
