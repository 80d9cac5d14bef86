using System.Diagnostics;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Rampart.Admin.Tests;

/// <summary>
/// The real Chromium in headless mode, driven through chromedriver (Debian's chromium and chromium-driver), with a
/// fresh profile that is deleted afterwards. Nothing is downloaded: both binaries are given by path.
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    public const string Browser = "/usr/bin/chromium";
    public const string DriverPath = "/usr/bin/chromedriver";

    private readonly ChromeDriverService _service;
    private readonly string _profile;

    public static bool IsAvailable => File.Exists(Browser) && File.Exists(DriverPath);

    public HeadlessChromium()
    {
        _profile = Directory.CreateTempSubdirectory("rampart-chromium-").FullName;
        _service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        _service.HideCommandPromptWindow = true;
        _service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = Browser };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            "--window-size=1280,900", $"--user-data-dir={_profile}");
        try
        {
            Driver = new ChromeDriver(_service, options, TimeSpan.FromSeconds(30));
        }
        catch
        {
            _service.Dispose();
            TryDelete(_profile);
            throw;
        }
    }

    public ChromeDriver Driver { get; }

    public void SaveScreenshot(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Driver.GetScreenshot().SaveAsFile(path);
    }

    public void Dispose()
    {
        int driverPid = _service.ProcessId;
        try
        {
            Driver.Quit(); // closes the browser and its processes
        }
        finally
        {
            Driver.Dispose();
            _service.Dispose();
            // chromedriver must be gone; if Quit failed half way, end it (and its browser) by its PID.
            try
            {
                using var leftover = Process.GetProcessById(driverPid);
                if (!leftover.HasExited) leftover.Kill(entireProcessTree: true);
            }
            catch (ArgumentException) { } // already gone
            catch (InvalidOperationException) { }
            TryDelete(_profile);
        }
    }

    private static void TryDelete(string directory)
    {
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Runs only where Chromium and chromedriver are installed (scripts/install-deps installs both).</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!HeadlessChromium.IsAvailable)
            Skip = $"Chromium is not installed ({HeadlessChromium.Browser}, {HeadlessChromium.DriverPath}: apt-get install chromium chromium-driver)";
    }
}
