using OpenQA.Selenium;
using Rampart.Proxy.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Rampart.Admin.Tests;

/// <summary>
/// The dashboard as a person sees it: Rampart in front of two real redis-servers, the page opened in headless
/// Chromium, its pools and backends checked against the config, counters checked to move after traffic once the page
/// has refreshed itself, and a screenshot kept (TestResults/dashboard.png next to the test binaries).
/// </summary>
[Collection(AdminCollection.Name)]
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    [ChromiumFact]
    public async Task Dashboard_InChromium_ShowsTheConfiguredPoolAndBackends_AndItsCountersMoveAfterTraffic()
    {
        var servers = new[] { RedisServerProcess.Start(), RedisServerProcess.Start() };
        try
        {
            var pool = RampartUnderTest.Pool(servers);
            await using var admin = await AdminHarness.StartAsync(pool);
            using var chromium = new HeadlessChromium();
            var page = chromium.Driver;
            page.Navigate().GoToUrl(admin.Admin.Url + "/");

            // Pools and backends as configured.
            var pools = page.FindElements(By.CssSelector("section.pool")).Select(p => p.GetAttribute("data-pool")).ToList();
            Assert.Equal([pool.Name], pools);
            Assert.Equal($"127.0.0.1:{admin.Rampart.Port}", Field(page, "listen"));
            var rows = page.FindElements(By.CssSelector("tr[data-backend]"));
            Assert.Equal(pool.Servers.Select(s => s.Name), rows.Select(r => r.GetAttribute("data-backend")));
            for (int i = 0; i < servers.Length; i++)
            {
                Assert.Equal(servers[i].Endpoint, BackendField(page, $"s{i}", "address"));
                Assert.Equal("server", BackendField(page, $"s{i}", "role"));
                Assert.Equal("up", BackendField(page, $"s{i}", "state"));
            }
            long before = long.Parse(Field(page, "requests"));

            // Traffic through the proxy, then wait for the page to refresh itself (it reloads every 2 s).
            const int Requests = 40;
            using (var client = RespTestClient.ConnectTcp(admin.Rampart.Port))
                for (int i = 0; i < Requests; i++) Assert.Equal("OK", client.CallText("SET", $"browser:{i}", "v"));
            long after = before;
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    after = long.Parse(Field(page, "requests"));
                    if (after >= before + Requests) break;
                }
                catch (StaleElementReferenceException) { } // the page reloaded between find and read
                // The same race as Chromium reports it when the reload lands inside the read itself.
                catch (UnknownErrorException e) when (e.Message.Contains("does not belong to the document", StringComparison.Ordinal)) { }
                catch (NoSuchElementException) { }
                await Task.Delay(200);
            }
            Assert.Equal(before + Requests, after);
            long perBackend = pool.Servers.Sum(s => long.Parse(BackendField(page, s.Name!, "requests")));
            Assert.Equal(after, perBackend);

            string screenshot = Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard.png");
            chromium.SaveScreenshot(screenshot);
            Assert.True(new FileInfo(screenshot).Length > 1000, "the screenshot is empty");
            output.WriteLine($"dashboard screenshot: {screenshot}");
        }
        finally
        {
            foreach (var server in servers) server.Dispose();
        }
    }

    private static string Field(IWebDriver page, string field) =>
        page.FindElement(By.CssSelector($"section.pool [data-field='{field}']")).Text.Trim();

    private static string BackendField(IWebDriver page, string backend, string field) =>
        page.FindElement(By.CssSelector($"tr[data-backend='{backend}'] [data-field='{field}']")).Text.Trim();
}
