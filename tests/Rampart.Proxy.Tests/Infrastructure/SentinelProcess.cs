using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A real Redis Sentinel (<c>redis-server &lt;conf&gt; --sentinel</c>) on a fixed loopback port, with its own writable
/// config file (Sentinel rewrites it to persist its state). Killed by PID; can be restarted on the same port and file.
/// </summary>
public sealed class SentinelProcess : IDisposable
{
    private const int LogLines = 400;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    public int Port { get; }
    public string ConfigFile { get; }
    public string Endpoint => $"127.0.0.1:{Port}";
    public int Pid => _process?.Id ?? 0;

    /// <summary>Running and not frozen: a sentinel that should answer.</summary>
    public bool IsLive => IsRunning && !IsFrozen;
    public bool IsRunning => _process is { HasExited: false };
    public bool IsFrozen { get; private set; }

    /// <summary>The last few hundred lines Sentinel logged on stdout (its events, with its own timestamps).</summary>
    public IReadOnlyList<string> RecentLog => _log.ToArray();

    private SentinelProcess(int port, string configFile)
    {
        Port = port;
        ConfigFile = configFile;
    }

    /// <summary>Starts a sentinel from <paramref name="configFile"/> (which must set <c>port <paramref name="port"/></c>).</summary>
    public static SentinelProcess Start(int port, string configFile)
    {
        var sentinel = new SentinelProcess(port, configFile);
        try
        {
            sentinel.Launch();
            return sentinel;
        }
        catch
        {
            sentinel.Dispose();
            throw;
        }
    }

    /// <summary>Starts the sentinel again on the same port from the same (by now rewritten) config file.</summary>
    public void Restart()
    {
        Kill();
        Launch();
    }

    private void Launch()
    {
        var psi = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ConfigFile)!,
        };
        psi.ArgumentList.Add(ConfigFile);
        psi.ArgumentList.Add("--sentinel");
        var process = Process.Start(psi) ?? throw new InvalidOperationException("redis-server --sentinel did not start");
        _process?.Dispose();
        _process = process;
        IsFrozen = false;
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!WaitUntilAnswering(TimeSpan.FromSeconds(10)))
        {
            Kill();
            throw new InvalidOperationException(
                $"sentinel on port {Port} never answered PING; its log:\n{string.Join('\n', RecentLog.TakeLast(30))}");
        }
    }

    private void Record(string? line)
    {
        if (line is null) return;
        _log.Enqueue(line);
        while (_log.Count > LogLines) _log.TryDequeue(out _);
    }

    private bool WaitUntilAnswering(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (!IsRunning) return false;
            try
            {
                using var client = new TcpClient("127.0.0.1", Port);
                var stream = client.GetStream();
                stream.ReadTimeout = 1000;
                stream.Write("PING\r\n"u8);
                var buffer = new byte[256];
                int n = stream.Read(buffer);
                string reply = Encoding.UTF8.GetString(buffer, 0, n);
                if (reply.StartsWith("+PONG", StringComparison.Ordinal) || reply.StartsWith("-NOAUTH", StringComparison.Ordinal)) return true;
            }
            catch (SocketException) { }
            catch (IOException) { }
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>SIGSTOP: keeps its sockets, answers nothing, sends no hellos.</summary>
    public void Freeze()
    {
        Signal("STOP");
        IsFrozen = true;
    }

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw()
    {
        Signal("CONT");
        IsFrozen = false;
    }

    private void Signal(string name)
    {
        if (!IsRunning) return;
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{name} {_process!.Id}") { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    /// <summary>SIGKILL by PID (works on a frozen process too).</summary>
    public void Kill()
    {
        var process = _process;
        if (process is null) return;
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        IsFrozen = false;
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        _process = null;
    }
}
