using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

internal static class ConfigAssert
{
    public const string Source = "test.yml";

    public static ProxyConfig Valid(string yaml)
    {
        var result = ConfigLoader.LoadText(yaml, Source);
        Assert.True(result.IsValid, "expected no errors, got:\n" + string.Join("\n", result.Errors));
        Assert.Empty(result.Errors);
        return result.Config!;
    }

    public static PoolConfig SinglePool(string yaml) => Assert.Single(Valid(yaml).Pools);

    public static IReadOnlyList<ConfigError> Invalid(string yaml)
    {
        var result = ConfigLoader.LoadText(yaml, Source);
        Assert.False(result.IsValid);
        Assert.Null(result.Config);
        Assert.NotEmpty(result.Errors);
        return result.Errors;
    }

    /// <summary>Exactly one error, on <paramref name="line"/>, whose message contains <paramref name="fragment"/>.</summary>
    public static ConfigError OneError(string yaml, int line, string fragment)
    {
        var errors = Invalid(yaml);
        var error = Assert.Single(errors);
        Assert.Equal(line, error.Line);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        Assert.Equal(Source, error.File);
        return error;
    }
}
