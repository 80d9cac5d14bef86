namespace Rampart.Cli;

/// <summary>Runtime settings that must be in place before the first socket is created.</summary>
internal static class RuntimeKnobs
{
    public static void Apply()
    {
        // The socket engine reads this once, when it starts; an operator's own setting wins.
        if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
    }
}
