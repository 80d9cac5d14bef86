using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace ClusterBench;

/// <summary>
/// --floor: bench/floor-proxy/floor-cluster.c, built with gcc, in front of the same cluster: a proxy that routes by
/// slot over one connection per master and does nothing else (no map refresh, no redirections, no errors). Its ratio to
/// direct is the least one proxy hop costs on this machine, so Rampart's distance from it is Rampart's own overhead.
/// Killed by PID on dispose.
/// </summary>
public sealed class FloorProxy : IDisposable
{
    private readonly Process _process;

    public int Port { get; }
    public int Pid => _process.Id;

    private readonly string _slotMap;
    private readonly System.Text.StringBuilder _output = new();

    private FloorProxy(Process process, int port, string slotMap)
    {
        _process = process;
        Port = port;
        _slotMap = slotMap;
    }

    private void Log(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public static FloorProxy Start(string dir, ConnectionMultiplexer cluster)
    {
        string source = Path.Combine(RepositoryRoot.Path, "bench", "floor-proxy", "floor-cluster.c");
        string binary = Path.Combine(dir, "floor-cluster");
        var gcc = ExternalProgram.RunAsync("gcc", ["-O2", "-o", binary, source], timeout: TimeSpan.FromMinutes(1)).GetAwaiter().GetResult();
        if (gcc.ExitCode != 0) throw new InvalidOperationException($"gcc failed: {gcc}");

        int port = FreePort.Next();
        string slotMap = SlotMap(cluster);
        var psi = new ProcessStartInfo(binary) { ArgumentList = { port.ToString(), slotMap }, UseShellExecute = false };
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        var process = Process.Start(psi) ?? throw new InvalidOperationException("floor-cluster did not start");
        var floor = new FloorProxy(process, port, slotMap);
        process.OutputDataReceived += (_, e) => floor.Log(e.Data);
        process.ErrorDataReceived += (_, e) => floor.Log(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        floor.WaitUntilReady();
        return floor;
    }

    /// <summary>The masters' slot ranges as floor-cluster takes them: <c>0-5460:7000,5461-10922:7001,...</c>.</summary>
    private static string SlotMap(ConnectionMultiplexer cluster)
    {
        var server = cluster.GetServers().First(s => s.IsConnected);
        var config = server.ClusterConfiguration ?? throw new InvalidOperationException("no cluster configuration from " + server.EndPoint);
        var ranges = config.Nodes.Where(n => !n.IsReplica)
            .SelectMany(n => n.Slots.Select(r => (r.From, r.To, Port: PortOf(n.EndPoint))))
            .OrderBy(r => r.From);
        return string.Join(",", ranges.Select(r => $"{r.From}-{r.To}:{r.Port}"));
    }

    private static int PortOf(System.Net.EndPoint? endpoint) => endpoint switch
    {
        System.Net.IPEndPoint ip => ip.Port,
        System.Net.DnsEndPoint dns => dns.Port,
        _ => throw new InvalidOperationException($"a master without an address: {endpoint}"),
    };

    private void WaitUntilReady()
    {
        // floor-cluster reads multibulk requests only.
        if (ChildProcess.AnswersPing(_process, Port, "*1\r\n$4\r\nPING\r\n", TimeSpan.FromSeconds(10))) return;
        Dispose();
        string output;
        lock (_output) output = _output.ToString();
        throw new InvalidOperationException($"floor-cluster did not answer PING on 127.0.0.1:{Port} (slot map {_slotMap}):\n{output}");
    }

    public void Dispose() => ChildProcess.Stop(_process);
}
