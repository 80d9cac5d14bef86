using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>A real nutcracker (twemproxy) on free loopback ports, killed by PID on dispose.</summary>
internal sealed class NutcrackerProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    public int Port { get; }
    public string LogFile => Path.Combine(_dir, "nutcracker.log");

    private NutcrackerProcess(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    /// <summary>The nutcracker binary, or null when it is not installed.</summary>
    public static string? Binary { get; } = Find();

    private static string? Find()
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin", "/sbin"]);
        return dirs.Select(d => Path.Combine(d, "nutcracker")).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Starts nutcracker with one pool named "test" listening on a free port; <paramref name="poolBody"/> is the
    /// pool's YAML lines after <c>listen:</c> (indented by two spaces).
    /// </summary>
    public static NutcrackerProcess Start(string poolBody) =>
        StartConfig(port => $"test:\n  listen: 127.0.0.1:{port}\n{poolBody}");

    /// <summary>
    /// Starts nutcracker with the whole configuration text <paramref name="configForListenPort"/> returns for a free
    /// listen port (so the same text, with another port, can be given to Rampart).
    /// </summary>
    public static NutcrackerProcess StartConfig(Func<int, string> configForListenPort)
    {
        var binary = Binary ?? throw new InvalidOperationException("nutcracker is not installed");
        for (int attempt = 0; ; attempt++)
        {
            var dir = Directory.CreateTempSubdirectory("rampart-nutcracker-").FullName;
            int port = FreePort.Next();
            int statsPort = FreePort.Next();
            var config = Path.Combine(dir, "nutcracker.yml");
            File.WriteAllText(config, configForListenPort(port));
            var psi = new ProcessStartInfo(binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "-c", config, "-s", statsPort.ToString(), "-a", "127.0.0.1",
                         "-o", Path.Combine(dir, "nutcracker.log"), "-p", Path.Combine(dir, "nutcracker.pid"), "-v", "4" })
                psi.ArgumentList.Add(arg);
            var process = Process.Start(psi) ?? throw new InvalidOperationException("nutcracker did not start");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var nutcracker = new NutcrackerProcess(process, dir, port);
            if (nutcracker.WaitUntilListening(TimeSpan.FromSeconds(10))) return nutcracker;
            var log = File.Exists(nutcracker.LogFile) ? File.ReadAllText(nutcracker.LogFile) : "(no log)";
            nutcracker.Dispose();
            if (attempt == 2) throw new InvalidOperationException($"nutcracker never listened on {port}:\n{log}");
        }
    }

    private bool WaitUntilListening(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) return false;
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Connect(new IPEndPoint(IPAddress.Loopback, Port));
                return true;
            }
            catch (SocketException) { }
            Thread.Sleep(20);
        }
        return false;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A theory that runs only where nutcracker is installed, and says why it was skipped otherwise.</summary>
public sealed class NutcrackerTheoryAttribute : TheoryAttribute
{
    public NutcrackerTheoryAttribute()
    {
        if (NutcrackerProcess.Binary is null)
            Skip = "nutcracker (twemproxy 0.5.0) is not installed: apt-get install nutcracker to compare placement with it";
    }
}
