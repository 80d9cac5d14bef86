using System.Diagnostics;
using System.Text;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>The real <c>rampart</c> executable (copied next to the tests by the project reference), run as users run it.</summary>
public sealed class RampartProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private RampartProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static string ExecutablePath => Path.Combine(AppContext.BaseDirectory, "rampart");

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public static RampartProcess Start(params string[] args) => StartProgram(ExecutablePath, args);

    /// <summary>
    /// Starts it as <c>nohup</c> leaves it: a shell ignores SIGHUP, which exec passes on, then becomes rampart (the
    /// pid is rampart's).
    /// </summary>
    public static RampartProcess StartWithSighupIgnored(params string[] args) =>
        StartProgram("/bin/sh", ["-c", "trap '' HUP; exec \"$0\" \"$@\"", ExecutablePath, .. args]);

    /// <summary>Starts <paramref name="file"/> (another rampart, such as the installed package's, or a wrapper that execs it).</summary>
    public static RampartProcess StartProgram(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        return new RampartProcess(Process.Start(psi)!);
    }

    /// <summary>Whether the process ignores SIGHUP now (bit 0 of SigIgn in /proc/PID/status).</summary>
    public bool IgnoresSighup()
    {
        string line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 1) != 0;
    }

    /// <summary>Runs to completion (bounded) and returns the exit code and everything printed.</summary>
    public static (int ExitCode, string Output) Run(params string[] args)
    {
        using var process = Start(args);
        if (!process._process.WaitForExit(30_000)) throw new TimeoutException("rampart did not exit within 30 s");
        process._process.WaitForExit(); // flush the output readers
        return (process.ExitCode, process.Output);
    }

    public bool WaitForOutput(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Output.Contains(text, StringComparison.Ordinal)) return true;
            if (_process.HasExited) return Output.Contains(text, StringComparison.Ordinal);
            Thread.Sleep(20);
        }
        return false;
    }

    public void Signal(string name)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{name} {_process.Id}") { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    /// <summary>Waits for the exit, then for the output readers, so <see cref="Output"/> holds every last line.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) return false;
        _process.WaitForExit();
        return true;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
