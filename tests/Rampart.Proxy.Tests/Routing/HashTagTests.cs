using System.Text;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Tests.Routing;

public sealed class HashTagTests
{
    [Theory]
    [InlineData("user:{1000}:followers", "1000")]
    [InlineData("{1000}", "1000")]
    [InlineData("{a}{b}", "a")]             // first tag only
    [InlineData("{{a}}", "{a")]             // first open, first close after it
    [InlineData("a{}b", "a{}b")]            // empty tag: whole key
    [InlineData("{}{x}", "{}{x}")]          // empty first tag: whole key, no second look
    [InlineData("a{}b}", "a{}b}")]          // close right after open: whole key, even with a later close
    [InlineData("x{abc", "x{abc")]          // no close: whole key
    [InlineData("}a{", "}a{")]              // close before open
    [InlineData("}a{b}", "b")]
    [InlineData("plain", "plain")]
    [InlineData("", "")]
    [InlineData("{", "{")]
    [InlineData("{x", "{x")]
    public void Braces(string key, string expected) =>
        Assert.Equal(expected, Encoding.UTF8.GetString(HashTag.Extract(Encoding.UTF8.GetBytes(key), (byte)'{', (byte)'}')));

    [Theory]
    [InlineData("x$ab$y", "ab")]
    [InlineData("$$ab", "$$ab")]
    [InlineData("a$b", "a$b")]
    [InlineData("$a$b$", "a")]
    public void Same_open_and_close(string key, string expected) =>
        Assert.Equal(expected, Encoding.UTF8.GetString(HashTag.Extract(Encoding.UTF8.GetBytes(key), (byte)'$', (byte)'$')));
}
