namespace Rampart.Cli;

/// <summary>Runtime settings that must be in place before the first socket is created.</summary>
internal static class RuntimeKnobs
{
    public static void Apply()
    {
        // Socket completions run on the event thread itself instead of hopping to the thread pool: a proxy's work
        // per event is shorter than the context switch of the hop.
        SetUnlessGiven("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        // One event thread, as twemproxy has one event loop: every client event of a turn is handled before the
        // FlushTicker's turn, so their requests share one server write. With an event thread per core (the
        // runtime's default when completions are inline) turns interleave and batches shrink threefold.
        SetUnlessGiven("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT", "1");
    }

    // The socket engine reads these once, when it starts; an operator's own setting wins.
    private static void SetUnlessGiven(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is null) Environment.SetEnvironmentVariable(name, value);
    }
}
