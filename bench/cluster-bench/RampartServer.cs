using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;

namespace ClusterBench;

/// <summary>
/// Rampart from a given build, as bench/proxy-bench runs it (<c>CMD serve --config FILE</c>; a <c>.dll</c> through
/// <c>dotnet</c>), its output in a log file, ready once it answers PING on its listen port, killed by PID on dispose.
/// </summary>
public sealed class RampartServer : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    public int Port { get; }
    public int Pid => _process.Id;
    public string LogFile { get; }

    private RampartServer(Process process, int port, string logFile, StreamWriter log)
    {
        _process = process;
        Port = port;
        LogFile = logFile;
        _log = log;
    }

    /// <summary>Writes the pool config (a cluster: block seeded with two nodes) and starts Rampart on it.</summary>
    public static RampartServer Start(string rampart, string dir, IReadOnlyList<string> seeds, int eventLoops = 1)
    {
        int port = FreePort.Next();
        string config = Path.Combine(dir, "rampart.yml");
        File.WriteAllText(config, $"""
            rampart:
              event_loops: {eventLoops}
            bench:
              listen: 127.0.0.1:{port}
              redis: true
              cluster:
                nodes: [{string.Join(", ", seeds)}]
                refresh_interval: 1000

            """);
        string path = Path.IsPathRooted(rampart) ? rampart : Path.Combine(RepositoryRoot.Path, rampart);
        if (!File.Exists(path)) throw new FileNotFoundException($"no Rampart build at {path} (dotnet build -c Release src/Rampart, or --rampart PATH)");
        var psi = path.EndsWith(".dll", StringComparison.Ordinal) ? new ProcessStartInfo("dotnet") { ArgumentList = { path } } : new ProcessStartInfo(path);
        foreach (var arg in new[] { "serve", "--config", config }) psi.ArgumentList.Add(arg);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        string logFile = Path.Combine(dir, "rampart.log");
        var log = new StreamWriter(logFile) { AutoFlush = true };
        var process = Process.Start(psi) ?? throw new InvalidOperationException("rampart did not start");
        var server = new RampartServer(process, port, logFile, log);
        process.OutputDataReceived += (_, e) => server.Log(e.Data);
        process.ErrorDataReceived += (_, e) => server.Log(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        server.WaitUntilReady(config);
        return server;
    }

    private void Log(string? line)
    {
        if (line is null) return;
        lock (_log) _log.WriteLine(line);
    }

    private void WaitUntilReady(string config)
    {
        if (ChildProcess.AnswersPing(_process, Port, "PING\r\n", TimeSpan.FromSeconds(20))) return;
        Thread.Sleep(200); // let the output readers drain into the log
        string log;
        lock (_log) log = File.ReadAllText(LogFile);
        Dispose();
        throw new InvalidOperationException($"Rampart did not answer PING on 127.0.0.1:{Port} (config {config}):\n{File.ReadAllText(config)}\n{log}");
    }

    public void Dispose()
    {
        ChildProcess.Stop(_process);
        lock (_log) _log.Dispose();
    }
}
