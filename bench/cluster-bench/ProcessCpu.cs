using System.Runtime.InteropServices;

namespace ClusterBench;

/// <summary>
/// CPU time (user + system, all threads) of processes by PID, from /proc/PID/stat: the method of bench/proxy-bench's
/// cpu_seconds (a Python script, so the approach is reused, not the code). A process that has gone counts 0.
/// </summary>
public static partial class ProcessCpu
{
    private const int ScClkTck = 2; // _SC_CLK_TCK on Linux
    private static readonly double TicksPerSecond = Sysconf(ScClkTck);

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long Sysconf(int name);

    public static double Seconds(IEnumerable<int> pids) => pids.Sum(Seconds);

    public static double Seconds(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
        // The command name (field 2) may hold spaces; the fields after its closing parenthesis start at field 3.
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(rest[11]) + long.Parse(rest[12])) / TicksPerSecond; // fields 14 (utime) and 15 (stime)
    }
}
