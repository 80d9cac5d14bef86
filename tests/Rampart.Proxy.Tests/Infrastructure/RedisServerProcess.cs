using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A real redis-server on a free loopback port, with no persistence, killed by PID on dispose.
/// </summary>
public sealed class RedisServerProcess : IDisposable
{
    private readonly Process _process;

    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port}";
    public int Pid => _process.Id;

    private RedisServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public static RedisServerProcess Start(params string[] extraArgs) => StartOn(0, extraArgs);

    /// <summary>Starts on <paramref name="fixedPort"/> (to bring a killed server back on its address), or a free port for 0.</summary>
    public static RedisServerProcess StartOn(int fixedPort, params string[] extraArgs)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = fixedPort != 0 ? fixedPort : FreePort.Next();
            var psi = new ProcessStartInfo("redis-server")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                         "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning" })
                psi.ArgumentList.Add(arg);
            foreach (var arg in extraArgs) psi.ArgumentList.Add(arg);
            var process = Process.Start(psi) ?? throw new InvalidOperationException("redis-server did not start");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new RedisServerProcess(process, port);
            if (server.WaitUntilReady(TimeSpan.FromSeconds(10))) return server;
            server.Dispose();
            if (attempt == 2) throw new InvalidOperationException($"redis-server on port {port} never answered PING");
        }
    }

    private bool WaitUntilReady(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) return false;
            try
            {
                string reply = Send("PING\r\n");
                if (reply.StartsWith("+PONG", StringComparison.Ordinal) || reply.StartsWith("-NOAUTH", StringComparison.Ordinal)) return true;
            }
            catch (SocketException) { }
            catch (IOException) { }
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>Sends raw bytes straight to the server (not through Rampart) and returns what one read brings back.</summary>
    public string Send(string raw)
    {
        using var client = new TcpClient("127.0.0.1", Port);
        var stream = client.GetStream();
        stream.Write(Encoding.UTF8.GetBytes(raw));
        var buffer = new byte[64 * 1024];
        int n = stream.Read(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>SIGSTOP: the process keeps its sockets but answers nothing (a hung server).</summary>
    public void Freeze() => Signal("STOP");

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw() => Signal("CONT");

    private void Signal(string name)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{name} {_process.Id}") { UseShellExecute = false })!;
        kill.WaitForExit();
    }

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
