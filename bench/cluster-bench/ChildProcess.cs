using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;

namespace ClusterBench;

/// <summary>What the bench's own child processes (Rampart, the floor proxy) share: readiness by PING, and the stop by PID.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// True once <paramref name="ping"/> sent to 127.0.0.1:<paramref name="port"/> is answered +PONG; false when the
    /// process exits first or <paramref name="timeout"/> passes.
    /// </summary>
    public static bool AnswersPing(Process process, int port, string ping, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                if (RedisProgram.ExchangeOnce(port, ping, readTimeoutMs: 1000).StartsWith("+PONG", StringComparison.Ordinal)) return true;
            }
            catch (IOException) { }
            catch (System.Net.Sockets.SocketException) { }
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>Kills the process (and its children) unless it has exited, and waits for it up to 5 s.</summary>
    public static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        process.Dispose();
    }
}
