namespace Rampart.Cli;

/// <summary>Runtime settings that must be in place before the first socket is created.</summary>
internal static class RuntimeKnobs
{
    public static void Apply()
    {
        // For the sockets that stay on .NET's socket engine (listeners, Sentinel and admin connections; client and
        // server connections run on Rampart's own event loop): completions run on the event thread itself instead of
        // hopping to the thread pool, as a proxy's work per event is shorter than the hop.
        SetUnlessGiven("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        // One engine thread: accepted clients start on it, and more threads would only contend with the event loops for
        // the cores.
        SetUnlessGiven("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT", "1");
    }

    // The socket engine reads these once, when it starts; an operator's own setting wins.
    private static void SetUnlessGiven(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is null) Environment.SetEnvironmentVariable(name, value);
    }
}
