using System.Diagnostics;

namespace Rampart.Admin.Tests;

/// <summary>
/// The text-format parser of the Prometheus project's Python client (Debian's python3-prometheus-client), run on a
/// scrape: it rejects malformed lines, bad label syntax and samples that do not match their TYPE.
/// </summary>
public static class PrometheusParser
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import sys
        from prometheus_client.parser import text_string_to_metric_families
        text = sys.stdin.read()
        for family in text_string_to_metric_families(text):
            print(family.name, family.type, len(family.samples))
        """;

    public static bool IsAvailable { get; } = Check();

    private static bool Check()
    {
        if (!File.Exists(Python)) return false;
        try
        {
            using var process = Process.Start(new ProcessStartInfo(Python, ["-c", "import prometheus_client"])
            {
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            process.WaitForExit(10_000);
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <returns>The parser's exit code and its output: one line per metric family, or the error.</returns>
    public static (int ExitCode, string Output) Parse(string exposition)
    {
        var psi = new ProcessStartInfo(Python, ["-c", Script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(exposition);
        process.StandardInput.Close();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new TimeoutException("the prometheus_client parser did not finish within 30 s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}

/// <summary>Runs only where python3-prometheus-client is installed (scripts/install-deps installs it).</summary>
public sealed class PrometheusParserFactAttribute : FactAttribute
{
    public PrometheusParserFactAttribute()
    {
        if (!PrometheusParser.IsAvailable)
            Skip = "python3-prometheus-client is not installed (apt-get install python3-prometheus-client): cannot check /metrics with a real Prometheus parser";
    }
}
