using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// The tests' one launcher of <c>redis-server</c>, for servers (<see cref="RedisServerProcess"/>) and sentinels
/// (<see cref="SentinelProcess"/>, <c>redis-server &lt;conf&gt; --sentinel</c>): starts it with its arguments, keeps the
/// last few hundred lines it logs, is ready once it answers PING on its port, and is frozen, thawed and killed by PID.
/// </summary>
public sealed class RedisProgram : IDisposable
{
    private const int LogLines = 400;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly Process _process;

    private RedisProgram(Process process) => _process = process;

    public int Pid => _process.Id;
    public bool IsRunning => !_process.HasExited;

    /// <summary>The last few hundred lines it logged on stdout and stderr.</summary>
    public IReadOnlyList<string> RecentLog => _log.ToArray();

    /// <summary>Starts <c>redis-server</c> with <paramref name="args"/>; see <see cref="WaitUntilAnswering"/>.</summary>
    public static RedisProgram Start(IEnumerable<string> args, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        var program = new RedisProgram(Process.Start(psi) ?? throw new InvalidOperationException("redis-server did not start"));
        program._process.OutputDataReceived += (_, e) => program.Record(e.Data);
        program._process.ErrorDataReceived += (_, e) => program.Record(e.Data);
        program._process.BeginOutputReadLine();
        program._process.BeginErrorReadLine();
        return program;
    }

    private void Record(string? line)
    {
        if (line is null) return;
        _log.Enqueue(line);
        while (_log.Count > LogLines) _log.TryDequeue(out _);
    }

    /// <summary>True once it answers PING on <paramref name="port"/> (+PONG, or -NOAUTH behind a password); false when it
    /// exits or <paramref name="timeout"/> passes first.</summary>
    public bool WaitUntilAnswering(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (!IsRunning) return false;
            try
            {
                string reply = ExchangeOnce(port, "PING\r\n", readTimeoutMs: 1000);
                if (reply.StartsWith("+PONG", StringComparison.Ordinal) || reply.StartsWith("-NOAUTH", StringComparison.Ordinal)) return true;
            }
            catch (SocketException) { }
            catch (IOException) { }
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>Sends raw bytes on a new connection to <paramref name="port"/> and returns what one read brings back.</summary>
    public static string ExchangeOnce(int port, string raw, int readTimeoutMs = Timeout.Infinite)
    {
        using var client = new TcpClient("127.0.0.1", port);
        var stream = client.GetStream();
        stream.ReadTimeout = readTimeoutMs;
        stream.Write(Encoding.UTF8.GetBytes(raw));
        var buffer = new byte[64 * 1024];
        int n = stream.Read(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>Sends a signal by PID (<c>STOP</c>, <c>CONT</c>); nothing when the process has gone.</summary>
    public void Signal(string name)
    {
        if (!IsRunning) return;
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{name} {_process.Id}") { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    /// <summary>SIGKILL by PID (works on a frozen process too).</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
