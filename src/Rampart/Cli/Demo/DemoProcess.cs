using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Rampart.Cli.Demo;

/// <summary>
/// One redis-server (data node or, with <c>--sentinel</c>, a sentinel) started by the demo on a free loopback port:
/// its output is drained and its last lines kept for error messages; killed by PID (SIGKILL) when disposed.
/// </summary>
internal sealed class DemoProcess : IDisposable
{
    public const string NotInstalled = "redis-server is not installed: install redis-server and redis-sentinel (scripts/install-deps)";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lastLines = new();
    private int _disposed;

    private DemoProcess(string role, int port, Process process)
    {
        Role = role;
        Port = port;
        _process = process;
        Pid = process.Id;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>"master", "replica" or "sentinel", as printed.</summary>
    public string Role { get; }
    public int Port { get; }
    /// <summary>Kept after disposal, for the report of what was killed.</summary>
    public int Pid { get; }

    /// <summary>
    /// Starts <c>redis-server</c> with the arguments <paramref name="arguments"/> builds for a free port and waits until
    /// it answers PING (bounded); retries on another port when the first one was taken meanwhile.
    /// </summary>
    public static async Task<DemoProcess> StartAsync(string role, Func<int, IEnumerable<string>> arguments, string workingDirectory, CancellationToken cancel)
    {
        string lastProblem = "";
        for (int attempt = 0; attempt < 3; attempt++)
        {
            int port = FreeLoopbackPort();
            var start = new ProcessStartInfo("redis-server")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = workingDirectory,
            };
            foreach (var arg in arguments(port)) start.ArgumentList.Add(arg);
            Process process;
            try
            {
                process = Process.Start(start) ?? throw new DemoException("redis-server did not start");
            }
            catch (Win32Exception)
            {
                throw new DemoException(NotInstalled);
            }
            var started = new DemoProcess(role, port, process);
            try
            {
                if (await started.WaitUntilAnsweringAsync(cancel)) return started;
                lastProblem = $"{role} redis-server on port {port} did not answer PING within {StartTimeout.TotalSeconds:0} s; its last lines:\n    "
                              + string.Join("\n    ", started._lastLines);
            }
            catch
            {
                started.Dispose();
                throw;
            }
            started.Dispose();
        }
        throw new DemoException(lastProblem);
    }

    private async Task<bool> WaitUntilAnsweringAsync(CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartTimeout && !_process.HasExited)
        {
            if (DemoResp.Text(DemoResp.Ask(Port, "PING")) is "PONG") return true;
            await Task.Delay(50, cancel);
        }
        return false;
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        _lastLines.Enqueue(line);
        while (_lastLines.Count > 20) _lastLines.TryDequeue(out _);
    }

    private static int FreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>SIGKILL by PID and wait for it (idempotent; also after the user killed it with kill -9).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        catch (Win32Exception) { }
        _process.Dispose();
    }
}
