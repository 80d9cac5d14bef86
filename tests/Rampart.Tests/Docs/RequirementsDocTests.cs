using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Tests.Docs;

/// <summary>The README and docs state what the tests and the build really are: the Redis version, the runtimes, every doc.</summary>
public sealed class RequirementsDocTests
{
    private static string Read(string relative) => File.ReadAllText(Path.Combine(RepositoryRoot.Path, relative));

    [Fact]
    public void ReadmeAndOperations_NameTheRedisVersionTheTestsRun()
    {
        using var process = Process.Start(new ProcessStartInfo("redis-server", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        string said = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(10_000), "redis-server --version did not exit");
        string version = Regex.Match(said, @"v=(\d+\.\d+\.\d+)").Groups[1].Value;
        Assert.NotEqual("", version);
        Assert.Contains($"redis-server` and `redis-sentinel` {version}", Read("README.md"));
        Assert.Contains($"redis-sentinel` {version}", Read("docs/operations.md"));
        Assert.Contains($"Redis {version[..version.LastIndexOf('.')]}", Read("README.md"));
    }

    [Fact]
    public void ReadmeAndOperations_NameEveryRuntimeThePublishedProgramNeeds()
    {
        // The runtimeconfig of the build the tests run: the frameworks a framework-dependent publish needs on the host.
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "rampart.runtimeconfig.json")));
        var frameworks = config.RootElement.GetProperty("runtimeOptions").GetProperty("frameworks").EnumerateArray()
            .Select(f => f.GetProperty("name").GetString()!).Order().ToArray();
        Assert.Equal(new[] { "Microsoft.AspNetCore.App", "Microsoft.NETCore.App" }, frameworks);
        foreach (var doc in new[] { "README.md", "docs/operations.md" })
        {
            string text = Read(doc);
            Assert.Contains(".NET 10", text);
            Assert.Contains("ASP.NET Core 10 runtime", text);
            Assert.Contains("--self-contained", text);
        }
    }

    [Fact]
    public void Docs_DoNotSayTheAdminServerIsCompiledAheadOfTime_TheDocumentedBuildIsJit()
    {
        Assert.DoesNotContain("PublishAot", Read("src/Rampart/Rampart.csproj")); // what the documented publish builds
        Assert.DoesNotContain("compiled ahead of time", Read("docs/operations.md"));
        Assert.DoesNotContain("compiled ahead of time", Read("README.md"));
    }

    [Fact]
    public void Readme_LinksEveryDoc()
    {
        string readme = Read("README.md");
        var missing = Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "docs"), "*.md")
            .Select(f => "docs/" + Path.GetFileName(f))
            .Where(doc => !readme.Contains($"]({doc})", StringComparison.Ordinal))
            .ToList();
        Assert.Empty(missing);
    }
}
