using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Tests.Scripts;

/// <summary>
/// scripts/install-deps on a machine that has everything (scripts/test runs it first): it must not touch apt, whatever
/// python3 comes first on PATH. apt-get and python3 are replaced by stubs in a directory put first on PATH.
/// </summary>
public sealed class InstallDepsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-deps-").FullName;

    private string Stub(string name, string body)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public async Task InstallDeps_NothingMissing_RunsNoAptGet_EvenWhenThePython3OnPathLacksPrometheusClient()
    {
        string aptLog = Path.Combine(_dir, "apt-get.calls");
        Stub("apt-get", $"echo \"$@\" >> '{aptLog}'");
        Stub("sudo", "\"$@\""); // a non-root run calls apt-get through sudo
        Stub("python3", "exit 1"); // a pyenv or venv python3 without the module

        var psi = new ProcessStartInfo(Path.Combine(RepositoryRoot.Path, "scripts", "install-deps"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["PATH"] = _dir + ":" + Environment.GetEnvironmentVariable("PATH");
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
            await process.WaitForExitAsync(timeout.Token); // throws when install-deps hangs
        string said = await output + await errors;

        Assert.Equal(0, process.ExitCode);
        Assert.False(File.Exists(aptLog), "apt-get ran: " + (File.Exists(aptLog) ? File.ReadAllText(aptLog) : "") + said);
        Assert.DoesNotContain("installing", said);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
