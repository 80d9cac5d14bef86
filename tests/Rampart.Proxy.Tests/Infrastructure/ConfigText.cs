namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>Configuration texts no user writes, for the tests of bounds (in process, on reload, and through the CLI).</summary>
public static class ConfigText
{
    /// <summary>Lines 1-5 are a valid pool; <paramref name="line6"/> is line 6, inside the pool.</summary>
    public static string PoolWithLine6(string line6) =>
        "a:\n  listen: 127.0.0.1:7330\n  redis: true\n  servers:\n    - 127.0.0.1:7301:1 a1\n" + line6 + "\n";

    /// <summary><paramref name="levels"/> times <paramref name="open"/>, "x", then as many <paramref name="close"/>.</summary>
    public static string Nested(string open, string close, int levels) =>
        string.Concat(Enumerable.Repeat(open, levels)) + "x" + string.Concat(Enumerable.Repeat(close, levels));
}
