using System.Runtime.CompilerServices;

namespace Rampart.Proxy.Tests;

internal static class TestProcessSetup
{
    /// <summary>
    /// Rampart runs inside the test process here, next to test clients that block on socket reads. Give the thread
    /// pool room for those blocking clients so they cannot starve the proxy's own continuations (the rampart
    /// executable has no blocking code and needs none of this), and run socket completions inline as the
    /// executable does (RuntimeKnobs), so tests exercise the same threading.
    /// </summary>
    [ModuleInitializer]
    internal static void Initialize()
    {
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT", "1");
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
    }
}
