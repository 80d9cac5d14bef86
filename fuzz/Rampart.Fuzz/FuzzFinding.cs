namespace Rampart.Fuzz;

/// <summary>
/// An input broke an invariant a target checks (not a crash of the code under test, but just as much a bug): thrown so
/// that afl-fuzz files the input under crashes, like any other exception that escapes a target.
/// </summary>
public sealed class FuzzFinding(string message) : Exception(message)
{
    public static void Check(bool condition, string what)
    {
        if (!condition) throw new FuzzFinding(what);
    }
}
