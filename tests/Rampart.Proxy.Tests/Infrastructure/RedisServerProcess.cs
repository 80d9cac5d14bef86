namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A real redis-server on a free loopback port, with no persistence, killed by PID on dispose
/// (started by the one launcher, <see cref="RedisProgram"/>).
/// </summary>
public sealed class RedisServerProcess : IDisposable
{
    private readonly RedisProgram _program;

    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port}";
    public int Pid => _program.Pid;

    private RedisServerProcess(RedisProgram program, int port)
    {
        _program = program;
        Port = port;
    }

    public static RedisServerProcess Start(params string[] extraArgs) => StartOn(0, extraArgs);

    /// <summary>Starts on <paramref name="fixedPort"/> (to bring a killed server back on its address), or a free port for 0.</summary>
    public static RedisServerProcess StartOn(int fixedPort, params string[] extraArgs)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = fixedPort != 0 ? fixedPort : FreePort.Next();
            string[] args = ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning", .. extraArgs];
            var program = RedisProgram.Start(args);
            if (program.WaitUntilAnswering(port, TimeSpan.FromSeconds(10))) return new RedisServerProcess(program, port);
            program.Dispose();
            if (attempt == 2) throw new InvalidOperationException($"redis-server on port {port} never answered PING");
        }
    }

    /// <summary>Sends raw bytes straight to the server (not through Rampart) and returns what one read brings back.</summary>
    public string Send(string raw) => RedisProgram.ExchangeOnce(Port, raw);

    /// <summary>SIGSTOP: the process keeps its sockets but answers nothing (a hung server).</summary>
    public void Freeze() => _program.Signal("STOP");

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw() => _program.Signal("CONT");

    public void Kill() => _program.Kill();

    public void Dispose() => _program.Dispose();
}
