using System.Text;
using Rampart.Protocol;
using Rampart.Proxy.Commands;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>The pure parts of fanned-out replies: INFO's common lines and order-free comparison of arrays.</summary>
public sealed class ReplyMergeTests
{

    [Fact]
    public void InfoCommonLines_KeepsSharedLines_AndOnlyTheHeadersThatStillHeadOne()
    {
        string a = "# Server\r\nredis_version:7.0.15\r\ntcp_port:1\r\n\r\n# Clients\r\nconnected_clients:3\r\n\r\n# Replication\r\nrole:master\r\n";
        string b = "# Server\r\nredis_version:7.0.15\r\ntcp_port:2\r\n\r\n# Clients\r\nconnected_clients:4\r\n\r\n# Replication\r\nrole:master\r\n";
        Assert.Equal("# Server\r\nredis_version:7.0.15\r\n\r\n# Replication\r\nrole:master\r\n", InfoMerge.CommonLines([Encoding.UTF8.GetBytes(RespText.Bulk(a)), Encoding.UTF8.GetBytes(RespText.Bulk(b))]));
    }

    [Fact]
    public void InfoCommonLines_NothingShared_IsEmpty()
    {
        Assert.Equal("", InfoMerge.CommonLines([Encoding.UTF8.GetBytes(RespText.Bulk("# Server\r\nx:1\r\n")), Encoding.UTF8.GetBytes(RespText.Bulk("# Server\r\nx:2\r\n"))]));
    }

    [Fact]
    public void InfoCommonLines_OfResp3VerbatimStrings_ReadsTheTextAfterItsFormat()
    {
        static byte[] Verbatim(string text) => Encoding.UTF8.GetBytes($"={Encoding.UTF8.GetByteCount(text) + 4}\r\ntxt:{text}\r\n");
        Assert.Equal("# Server\r\nredis_version:7.0.15\r\n",
            InfoMerge.CommonLines([Verbatim("# Server\r\nredis_version:7.0.15\r\ntcp_port:1\r\n"), Verbatim("# Server\r\nredis_version:7.0.15\r\ntcp_port:2\r\n")]));
    }

    [Fact]
    public void InfoCommonLines_ANonBulkReply_IsAProtocolError()
    {
        Assert.Throws<RespProtocolException>(() => InfoMerge.CommonLines([":1\r\n"u8.ToArray()]));
    }

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
