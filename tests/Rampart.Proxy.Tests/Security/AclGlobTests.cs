using System.Text;
using Rampart.Proxy.Security;

namespace Rampart.Proxy.Tests.Security;

/// <summary>Redis's stringmatchlen, quirks included; every expectation was read from redis-server 7.0.15's ACL DRYRUN.</summary>
public sealed class AclGlobTests
{
    [Theory]
    [InlineData("*", "", false)]          // Redis: an empty key matches no pattern, not even *
    [InlineData("*", "x", true)]
    [InlineData("a[", "a[", false)]       // an unterminated class matches nothing
    [InlineData("a[", "a", false)]
    [InlineData(@"b\", @"b\", true)]      // a trailing backslash is literal
    [InlineData(@"b\", "b", false)]
    [InlineData("[z-x]1", "y1", true)]    // reversed range
    [InlineData("[z-x]1", "w1", false)]
    [InlineData("c[^ab]", "cc", true)]
    [InlineData("c[^ab]", "ca", false)]
    [InlineData(@"d[\]]", "d]", true)]    // escaped ] inside a class
    [InlineData(@"d[\]]", @"d\", false)]
    [InlineData("e?f", "exf", true)]
    [InlineData("e?f", "ef", false)]
    [InlineData("g*h*i", "ghhi", true)]
    [InlineData("g*h*i", "ghi", true)]
    [InlineData("g*h*i", "gi", false)]
    [InlineData("g*h*i", "ghxhxi", true)]
    [InlineData(@"lit\*", "lit*", true)]
    [InlineData(@"lit\*", "litx", false)]
    [InlineData("a**", "a", true)]
    public void Matches_AsRedisDoes(string pattern, string text, bool expected) =>
        Assert.Equal(expected, AclGlob.Matches(Encoding.UTF8.GetBytes(pattern), Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void ManyStars_OnALongMissingText_FinishQuickly()
    {
        // Without Redis's skip-longer-matches rule this is exponential; with it, it returns at once.
        var pattern = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("a*", 30)) + "b");
        var text = Encoding.ASCII.GetBytes(new string('a', 5000));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(AclGlob.Matches(pattern, text));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }
}
