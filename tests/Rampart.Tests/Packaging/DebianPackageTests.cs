using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Tests.Packaging;

/// <summary>
/// scripts/package end to end, as an operator uses the .deb: build it, <c>dpkg -i</c>, run the installed binary as the
/// package's <c>rampart</c> user in front of a real redis-server, then <c>dpkg --purge</c> and find nothing left. It
/// installs into the machine, so it needs root (CI runs as root); without root it fails, it never skips.
/// </summary>
public sealed class DebianPackageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-deb-").FullName;

    private static Task<ProgramResult> Run(string program, IEnumerable<string> args, TimeSpan? timeout = null) =>
        ExternalProgram.RunAsync(program, args, timeout: timeout ?? TimeSpan.FromSeconds(60));

    [Fact]
    public async Task Package_InstallsServesAsTheRampartUser_AndPurgeLeavesNothing()
    {
        string uid = (await Run("id", ["-u"])).Stdout.Trim();
        Assert.True(uid == "0", "DebianPackageTests installs a .deb into this machine and must run as root (CI does); "
            + $"it ran as uid {uid}. Run it with sudo, or in a root container.");

        await PurgeAsync(); // a failed earlier run may have left it installed
        try
        {
            var built = await Run(Path.Combine(RepositoryRoot.Path, "scripts", "package"), ["--out", _dir], TimeSpan.FromMinutes(8));
            Assert.True(built.ExitCode == 0, "scripts/package failed:\n" + built);

            // The version the tests' own build reports: the package must be built from the same project version.
            var (_, ownVersion) = RampartProcess.Run("--version");
            string version = ownVersion.Trim().Split('+')[0];
            string deb = Path.Combine(_dir, $"rampart_{version}_amd64.deb");
            Assert.True(File.Exists(deb), $"no {deb}; scripts/package made: " + string.Join(", ", Directory.GetFiles(_dir)));

            var installed = await Run("dpkg", ["-i", deb], TimeSpan.FromMinutes(2));
            Assert.True(installed.ExitCode == 0, "dpkg -i failed:\n" + installed);
            var status = await Run("dpkg-query", ["-W", "-f=${Status} ${Version}\n${Conffiles}", "rampart"]);
            Assert.StartsWith($"install ok installed {version}", status.Stdout);
            Assert.Contains("/etc/rampart/rampart.yml", status.Stdout); // a conffile: upgrades keep the operator's edits
            Assert.True(File.Exists("/lib/systemd/system/rampart.service"));

            var printed = await Run("/usr/bin/rampart", ["--version"]);
            Assert.Equal(ownVersion.Trim(), printed.Stdout.Trim());

            // The shipped example is valid, and readable by the user the unit runs as (0640 root:rampart).
            var check = await Run("setpriv", ["--reuid=rampart", "--regid=rampart", "--init-groups", "--",
                "/usr/bin/rampart", "check", "--config", "/etc/rampart/rampart.yml"]);
            Assert.True(check.ExitCode == 0, "rampart check of the packaged rampart.yml, as user rampart:\n" + check);

            await ServesAsRampartUserAsync();

            var purged = await Run("dpkg", ["--purge", "rampart"], TimeSpan.FromMinutes(2));
            Assert.True(purged.ExitCode == 0, "dpkg --purge failed:\n" + purged);
            await AssertNothingLeftAsync();
        }
        finally
        {
            // Never left installed, even after a failure; a failing purge here must not hide the first failure.
            await Run("dpkg", ["--purge", "rampart"], TimeSpan.FromMinutes(2));
        }
    }

    /// <summary>
    /// The installed binary, started as the unit starts it (user rampart, setpriv execs so the PID is rampart's), serves
    /// SET/GET from redis-cli to a real redis-server, and stops on SIGTERM to its PID.
    /// </summary>
    private async Task ServesAsRampartUserAsync()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        string config = Path.Combine(_dir, "serve.yml");
        File.WriteAllText(config, $"local:\n  listen: 127.0.0.1:{port}\n  redis: true\n  servers:\n    - {redis.Endpoint}:1 r1\n");
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101); // the temp dir is 0700: let user rampart in
        File.SetUnixFileMode(config, (UnixFileMode)0b110_100_100);

        using var rampart = RampartProcess.StartProgram("setpriv", "--reuid=rampart", "--regid=rampart", "--init-groups", "--",
            "/usr/bin/rampart", "serve", "--config", config);
        Assert.True(rampart.WaitForOutput("running with", TimeSpan.FromSeconds(30)), rampart.Output);
        string rampartUid = (await Run("id", ["-u", "rampart"])).Stdout.Trim();
        string processUid = File.ReadLines($"/proc/{rampart.Pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        Assert.Equal(rampartUid, processUid.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);

        string value = Guid.NewGuid().ToString("N");
        var set = await Run("redis-cli", ["-p", port.ToString(), "SET", "packaged", value], TimeSpan.FromSeconds(20));
        Assert.True(set.Stdout.Trim() == "OK", set + "\nrampart:\n" + rampart.Output);
        var get = await Run("redis-cli", ["-p", port.ToString(), "GET", "packaged"], TimeSpan.FromSeconds(20));
        Assert.Equal(value, get.Stdout.Trim());
        Assert.Contains(value, redis.Send(RespText.Command("GET", "packaged"))); // it went through to the real server

        rampart.Signal("TERM");
        Assert.True(rampart.WaitForExit(TimeSpan.FromSeconds(20)), rampart.Output);
        Assert.True(rampart.ExitCode == 0, $"exit {rampart.ExitCode}\n{rampart.Output}");
    }

    private static async Task AssertNothingLeftAsync()
    {
        Assert.False(File.Exists("/usr/bin/rampart"), "/usr/bin/rampart is left");
        Assert.False(Directory.Exists("/etc/rampart"), "/etc/rampart is left");
        Assert.False(File.Exists("/lib/systemd/system/rampart.service"), "the unit is left");
        Assert.False(File.Exists("/var/lib/systemd/deb-systemd-helper-enabled/rampart.service.dsh-also"), "systemd state is left");
        // getent exits 2 for "no such entry".
        Assert.True((await Run("getent", ["passwd", "rampart"])).ExitCode == 2, "the rampart user is left");
        Assert.True((await Run("getent", ["group", "rampart"])).ExitCode == 2, "the rampart group is left");
        var status = await Run("dpkg", ["-s", "rampart"]);
        Assert.NotEqual(0, status.ExitCode);
        Assert.Contains("is not installed", status.Stderr);
    }

    private static async Task PurgeAsync()
    {
        var purged = await Run("dpkg", ["--purge", "rampart"], TimeSpan.FromMinutes(2));
        Assert.True(purged.ExitCode == 0, "dpkg --purge rampart failed:\n" + purged);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
