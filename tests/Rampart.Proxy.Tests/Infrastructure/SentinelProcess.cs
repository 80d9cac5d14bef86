namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A real Redis Sentinel (<c>redis-server &lt;conf&gt; --sentinel</c>, started by the one launcher,
/// <see cref="RedisProgram"/>) on a fixed loopback port, with its own writable config file (Sentinel rewrites it to
/// persist its state). Killed by PID; can be restarted on the same port and file.
/// </summary>
public sealed class SentinelProcess : IDisposable
{
    private RedisProgram? _program;

    public int Port { get; }
    public string ConfigFile { get; }
    public string Endpoint => $"127.0.0.1:{Port}";
    public int Pid => _program?.Pid ?? 0;

    /// <summary>Running and not frozen: a sentinel that should answer.</summary>
    public bool IsLive => IsRunning && !IsFrozen;
    public bool IsRunning => _program is { IsRunning: true };
    public bool IsFrozen { get; private set; }

    /// <summary>The last few hundred lines Sentinel logged on stdout (its events, with its own timestamps).</summary>
    public IReadOnlyList<string> RecentLog => _program?.RecentLog ?? [];

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
        _program?.Dispose();
        _program = RedisProgram.Start([ConfigFile, "--sentinel"], Path.GetDirectoryName(ConfigFile)!);
        IsFrozen = false;
        if (!_program.WaitUntilAnswering(Port, TimeSpan.FromSeconds(10)))
        {
            Kill();
            throw new InvalidOperationException(
                $"sentinel on port {Port} never answered PING; its log:\n{string.Join('\n', RecentLog.TakeLast(30))}");
        }
    }

    /// <summary>SIGSTOP: keeps its sockets, answers nothing, sends no hellos.</summary>
    public void Freeze()
    {
        _program?.Signal("STOP");
        IsFrozen = true;
    }

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw()
    {
        _program?.Signal("CONT");
        IsFrozen = false;
    }

    /// <summary>SIGKILL by PID (works on a frozen process too).</summary>
    public void Kill()
    {
        _program?.Kill();
        IsFrozen = false;
    }

    public void Dispose()
    {
        _program?.Dispose();
        _program = null;
    }
}
