using System.Runtime.InteropServices;

namespace Rampart.Cli;

/// <summary>
/// Undoes a SIGHUP disposition of "ignore" inherited from the parent (<c>nohup</c>, some supervisors). .NET leaves an
/// inherited ignored signal ignored when a <see cref="PosixSignalRegistration"/> is created for it, so without this a
/// process started under <c>nohup</c> never reloads nor reopens its log on SIGHUP. Call it just before registering
/// the handler: between the two a SIGHUP would take the default action (end the process), a window of microseconds.
/// </summary>
internal static unsafe partial class InheritedSignals
{
    private const int SigHup = 1; // the same numbers on Linux and macOS
    private const int SigInt = 2;
    private const nint SigDfl = 0;
    private const nint SigIgn = 1;

    /// <summary>Returns true when SIGHUP was ignored and is now back to its default, ready for a handler.</summary>
    public static bool UnignoreSighup() => Unignore(SigHup);

    /// <summary>
    /// The same for SIGINT, for the demo, whose Ctrl-C must stop what it started even when it was launched from a
    /// non-interactive shell's background job (which starts with SIGINT ignored).
    /// </summary>
    public static bool UnignoreSigint() => Unignore(SigInt);

    private static bool Unignore(int signum)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return false;
        // struct sigaction starts with the handler on glibc, musl and macOS; 256 bytes cover its size everywhere.
        byte* current = stackalloc byte[256];
        if (sigaction(signum, null, current) != 0) return false;
        if (*(nint*)current != SigIgn) return false;
        return signal(signum, SigDfl) != -1;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigaction(int signum, void* act, void* oldact);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint signal(int signum, nint handler);
}
