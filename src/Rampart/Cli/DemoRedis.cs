using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Rampart.Cli;

/// <summary>A throw-away redis-server for the demo: loopback only, no persistence, killed by PID when disposed.</summary>
internal sealed class DemoRedis : IDisposable
{
    private readonly Process _process;

    private DemoRedis(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public int Pid => _process.Id;

    public static DemoRedis? TryStart(out string? problem)
    {
        int port = FreeLoopbackPort();
        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning" })
            start.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            problem = "redis-server is not installed (sudo apt-get install redis-server)";
            return null;
        }
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        var redis = new DemoRedis(process, port);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                problem = null;
                return redis;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        redis.Dispose();
        problem = $"redis-server did not start on port {port}";
        return null;
    }

    private static int FreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
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
    }
}
