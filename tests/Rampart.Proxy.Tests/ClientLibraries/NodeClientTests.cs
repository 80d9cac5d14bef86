using System.Text.Json;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.ClientLibraries;

/// <summary>
/// ioredis and node-redis, installed from npm by tests/clients/node/package-lock.json, each running its common
/// operations through a 3-server pool (tests/clients/node/*.js). The scripts check every reply themselves and exit
/// non-zero on the first wrong one; this test then reads the keys they wrote straight from the owning servers.
/// node-redis runs with its pure defaults, which open with HELLO 3 (RESP3), and once more with RESP: 2.
/// </summary>
public sealed class NodeClientTests(ShardedPoolFixture fixture) : IClassFixture<ShardedPoolFixture>
{
    [Theory]
    [InlineData("ioredis.js")]
    [InlineData("node-redis.js")] // pure defaults: HELLO 3, RESP3 replies and push messages
    [InlineData("node-redis.js", "--resp2")]
    public Task Library_CommonOperations_ThroughAThreeServerPool(string script, string? option = null) =>
        NodeScripts.RunAndCheckAsync(script, fixture, option);
}

/// <summary>The Node.js client scripts under tests/clients/node, with their packages installed once by <c>npm ci</c>.</summary>
public static class NodeScripts
{
    private static readonly Lazy<Task> Installed = new(InstallAsync);

    public static string Directory { get; } = Path.Combine(RepositoryRoot.Path, "tests", "clients", "node");

    /// <summary>
    /// Runs <paramref name="script"/> through <paramref name="pool"/>'s Rampart with two keys of different servers (for
    /// its CROSSSLOT checks); then every value it reports written must be on the server that owns its key, and those
    /// servers must be at least two.
    /// </summary>
    public static async Task RunAndCheckAsync(string script, IProxiedPool pool, string? option)
    {
        string[] apart = pool.KeysOnEveryServer("node:apart")[..2];
        string[] args = option is null ? [pool.Rampart.Port.ToString(), .. apart] : [pool.Rampart.Port.ToString(), .. apart, option];
        var result = await RunAsync(script, args);
        Assert.True(result.ExitCode == 0, result.ToString());

        using var report = JsonDocument.Parse(result.Stdout.Trim().Split('\n')[^1]);
        Assert.InRange(report.RootElement.GetProperty("checks").GetInt32(), 35, 1000);
        var written = report.RootElement.GetProperty("written").EnumerateObject().ToList();
        Assert.True(written.Count >= 8, result.Stdout);
        foreach (var entry in written) Assert.Equal(entry.Value.GetString(), pool.DirectGet(entry.Name));
        Assert.True(written.Select(e => pool.OwnerOf(e.Name).Port).Distinct().Count() >= 2, "the script's keys should spread over the servers");
    }

    public static async Task<ProgramResult> RunAsync(string script, params string[] args)
    {
        await Installed.Value;
        return await ExternalProgram.RunAsync("node", [script, .. args], timeout: TimeSpan.FromSeconds(90), workingDirectory: Directory);
    }

    /// <summary>npm ci unless scripts/install-deps already installed exactly the locked packages.</summary>
    private static async Task InstallAsync()
    {
        string installedLock = Path.Combine(Directory, "node_modules", ".package-lock.json");
        if (File.Exists(installedLock) && File.GetLastWriteTimeUtc(installedLock) >= File.GetLastWriteTimeUtc(Path.Combine(Directory, "package-lock.json")))
            return;
        var result = await ExternalProgram.RunAsync("npm", ["ci", "--no-audit", "--no-fund"], timeout: TimeSpan.FromMinutes(5), workingDirectory: Directory);
        if (result.ExitCode != 0) throw new InvalidOperationException($"npm ci failed in {Directory}: {result}");
    }
}
