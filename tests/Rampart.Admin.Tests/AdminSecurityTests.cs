using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Admin.Tests;

/// <summary>
/// The admin server's access rules: /healthz and /readyz open, everything else behind the configured user, state
/// changes only by POST with credentials (never without a configured user, never from another site), and HTTPS.
/// </summary>
[Collection(AdminCollection.Name)]
public sealed class AdminSecurityTests
{
    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task HealthAndReadiness_AreOpen_EvenWithAUserConfigured(string path)
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis), user: "ops", password: "s3cret");
        using var anonymous = new HttpClient { BaseAddress = admin.Http.BaseAddress };
        using var response = await anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/loglevel/Rampart")]
    [InlineData("PUT", "/loglevel/Rampart")]
    [InlineData("DELETE", "/loglevel/Rampart")]
    [InlineData("GET", "/loglevel/Rampart/reset")]
    [InlineData("PUT", "/loglevel/Rampart/reset")]
    public async Task StateChangingPaths_OtherMethods_Are405WithAllowPost_AndChangeNothing(string method, string path)
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis), user: "ops", password: "s3cret");
        admin.Levels.Set("Rampart", LogLevel.Warning);
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("Debug") };
        using var response = await admin.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["POST"], response.Content.Headers.Allow);
        Assert.Equal(LogLevel.Warning, admin.Levels.LevelOf("Rampart"));
    }

    [Fact]
    public async Task Post_WithoutAConfiguredUser_Is403_AndChangesNothing_WhileReadsStayOpen()
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis));
        using (var response = await admin.Http.PostAsync("/loglevel/Rampart", new StringContent("Debug")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("needs credentials", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(LogLevel.Information, admin.Levels.LevelOf("Rampart"));
        Assert.Contains("\"default\"", await admin.GetTextAsync("/loglevel"));
    }

    [Theory]
    [InlineData("Origin", "http://evil.example")]
    [InlineData("Origin", "null")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    public async Task Post_FromAnotherSite_Is403_EvenWithCredentials(string header, string value)
    {
        using var redis = RedisServerProcess.Start();
        await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis), user: "ops", password: "s3cret");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/loglevel/Rampart") { Content = new StringContent("Debug") };
        request.Headers.TryAddWithoutValidation(header, value);
        using var response = await admin.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(LogLevel.Information, admin.Levels.LevelOf("Rampart"));

        // The dashboard's own origin is fine.
        using var same = new HttpRequestMessage(HttpMethod.Post, "/loglevel/Rampart") { Content = new StringContent("Debug") };
        same.Headers.TryAddWithoutValidation("Origin", admin.Admin.Url);
        using var ok = await admin.Http.SendAsync(same);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(LogLevel.Debug, admin.Levels.LevelOf("Rampart"));
    }

    [Fact]
    public async Task Tls_ServesHttpsWithTheConfiguredCertificate_AndNotPlainHttp()
    {
        var dir = Directory.CreateTempSubdirectory("rampart-admin-tls-").FullName;
        try
        {
            using var certificate = SelfSigned(dir, out var tls);
            string? seen = null;
            var handler = new HttpClientHandler
            {
                // Trust exactly this certificate, as a client pinning the admin's certificate would.
                ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
                {
                    seen = cert?.Thumbprint;
                    return cert?.Thumbprint == certificate.Thumbprint;
                },
            };
            using var redis = RedisServerProcess.Start();
            await using var admin = await AdminHarness.StartAsync(RampartUnderTest.Pool(redis), user: "ops", password: "s3cret",
                tls: tls, handler: handler);
            Assert.StartsWith("https://127.0.0.1:", admin.Admin.Url);
            Assert.Contains("\"total\"", await admin.GetTextAsync("/events"));
            Assert.Contains("rampart", await admin.GetTextAsync("/stats"));
            Assert.Equal(certificate.Thumbprint, seen);

            using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync($"http://127.0.0.1:{admin.Admin.Port}/healthz"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A fresh self-signed certificate for 127.0.0.1, written as PEM into <paramref name="dir"/> (never committed).</summary>
    private static X509Certificate2 SelfSigned(string dir, out AdminTlsFiles files)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        files = new AdminTlsFiles(Path.Combine(dir, "admin.crt"), Path.Combine(dir, "admin.key"));
        File.WriteAllText(files.CertFile, certificate.ExportCertificatePem());
        File.WriteAllText(files.KeyFile, key.ExportPkcs8PrivateKeyPem());
        return certificate;
    }
}
