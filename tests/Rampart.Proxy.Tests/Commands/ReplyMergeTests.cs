using System.Text;
using Rampart.Protocol;
using Rampart.Proxy.Commands;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>The pure parts of fanned-out replies: order-free comparison of arrays (INFO: InfoMergeTests).</summary>
public sealed class ReplyMergeTests
{
    [Theory]
    [InlineData("*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\nb\r\n$1\r\na\r\n", true)]
    [InlineData("*1\r\n*2\r\n:1\r\n:2\r\n", "*1\r\n*2\r\n:2\r\n:1\r\n", true)]
    [InlineData("*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\na\r\n$1\r\nc\r\n", false)]
    [InlineData("*1\r\n$-1\r\n", "*1\r\n$0\r\n\r\n", false)]
    [InlineData("*-1\r\n", "*0\r\n", false)]
    [InlineData("+OK\r\n", "+OK\r\n", true)]
    // RESP3 (a RESP3 client's fan-out): maps equal up to the order of their pairs, never across keys and values.
    [InlineData("%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n", "%2\r\n$1\r\nb\r\n:2\r\n$1\r\na\r\n:1\r\n", true)]
    [InlineData("%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n", "%2\r\n$1\r\na\r\n:2\r\n$1\r\nb\r\n:1\r\n", false)]
    [InlineData("~2\r\n$1\r\na\r\n$1\r\nb\r\n", "~2\r\n$1\r\nb\r\n$1\r\na\r\n", true)]
    [InlineData("~1\r\n$1\r\na\r\n", "*1\r\n$1\r\na\r\n", false)]
    [InlineData("*1\r\n_\r\n", "*1\r\n$-1\r\n", false)]
    [InlineData("=7\r\ntxt:abc\r\n", "$7\r\ntxt:abc\r\n", false)]
    public void CanonicalReply_EqualUpToArrayOrder(string left, string right, bool equal)
    {
        Assert.Equal(equal, CanonicalReply.Of(Encoding.UTF8.GetBytes(left)) == CanonicalReply.Of(Encoding.UTF8.GetBytes(right)));
    }

    [Theory]
    [InlineData("*2\r\n$1\r\na\r\n")]
    [InlineData("$5\r\nab\r\n")]
    [InlineData("*1\r\n:1\r\nextra")]
    public void CanonicalReply_MalformedOrCut_IsAProtocolError(string reply)
    {
        Assert.Throws<RespProtocolException>(() => CanonicalReply.Of(Encoding.UTF8.GetBytes(reply)));
    }
}
