using System.Diagnostics;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>Skips (with the reason) when the nutcracker binary is not on PATH.</summary>
public sealed class NutcrackerFactAttribute : FactAttribute
{
    public NutcrackerFactAttribute()
    {
        if (NutcrackerAgreementTests.FindNutcracker() is null)
            Skip = "nutcracker (twemproxy) is not on PATH; install it (apt-get install nutcracker) to compare the corpus with `nutcracker -t`";
    }
}

/// <summary>
/// Runs <c>nutcracker -t -c FILE</c> (twemproxy's own config check) on every corpus file and checks it agrees with
/// Rampart on valid/invalid, except for the files listed below, where Rampart differs on purpose.
/// </summary>
public class NutcrackerAgreementTests
{
    /// <summary>Files where nutcracker and Rampart disagree by design, and why. Keep this list honest and short.</summary>
    private static readonly Dictionary<string, string> Exceptions = new()
    {
        // Rampart accepts, nutcracker refuses:
        ["valid/rampart-block.yml"] = "the reserved 'rampart:' key nests deeper than nutcracker's two levels",
        ["valid/sentinel.yml"] = "'sentinel:' and 'rampart:' are Rampart additions (and use flow style, which nutcracker forbids)",
        ["valid/client-output-buffer.yml"] = "'client_output_buffer' is a Rampart addition",
        ["valid/ipv6.yml"] = "nutcracker passes '[::1]' with its brackets to getaddrinfo and fails; Rampart accepts [v6]:port",
        // Rampart refuses, nutcracker accepts:
        ["invalid/memcached.yml"] = "Rampart speaks only Redis; nutcracker serves redis: false pools as memcached",
        ["invalid/redis-missing.yml"] = "no 'redis' key: nutcracker's default is redis: false (memcached); Rampart refuses rather than guess",
        ["invalid/twemproxy-readme.yml"] = "gamma, delta and omega have no 'redis' key: memcached pools for nutcracker, refused by Rampart",
        ["invalid/twemproxy-conf-example.yml"] = "gamma, delta and omega have no 'redis' key: memcached pools for nutcracker, refused by Rampart",
        ["invalid/duplicate-server-address.yml"] = "nutcracker only compares server names; one address under two names is one backend counted twice",
        ["invalid/unix-bad-mode.yml"] = "nutcracker reads the mode with strtol(…, 8), which turns '0999' into 0 silently; Rampart refuses non-octal modes",
    };

    internal static string? FindNutcracker()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                     .Concat(["/usr/sbin", "/usr/local/sbin", "/usr/local/bin"]))
        {
            var candidate = Path.Combine(dir, "nutcracker");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    [NutcrackerFact]
    public void NutcrackerAgreesOnEveryCorpusFileExceptTheListedOnes()
    {
        var nutcracker = FindNutcracker()!;
        var disagreements = new List<string>();
        var files = CorpusTests.FileNames("valid").Concat(CorpusTests.FileNames("invalid")).ToList();
        foreach (var file in files)
        {
            var rampartValid = file.StartsWith("valid/", StringComparison.Ordinal);
            var nutcrackerValid = NutcrackerAccepts(nutcracker, Path.Combine(CorpusTests.CorpusDir, file));
            var agrees = rampartValid == nutcrackerValid;
            var excepted = Exceptions.ContainsKey(file);
            if (agrees && excepted)
                disagreements.Add($"{file}: listed as an exception but nutcracker now agrees; remove it from the list");
            else if (!agrees && !excepted)
                disagreements.Add($"{file}: Rampart says {(rampartValid ? "valid" : "invalid")}, nutcracker -t says {(nutcrackerValid ? "valid" : "invalid")}");
        }
        foreach (var listed in Exceptions.Keys.Where(k => !files.Contains(k)))
            disagreements.Add($"{listed}: listed as an exception but not in the corpus");
        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));
    }

    private static bool NutcrackerAccepts(string nutcracker, string file)
    {
        var psi = new ProcessStartInfo(nutcracker)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-t", "-c", file }) psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("nutcracker did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            process.Kill();
            throw new TimeoutException($"nutcracker -t -c {file} did not finish");
        }
        stderr.Wait();
        return process.ExitCode == 0;
    }
}
