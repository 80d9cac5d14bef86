using System.Text;
using static Rampart.Protocol.RespValue;

namespace Rampart.Protocol.Tests;

public class RespValueTests
{
    private static byte[] B(string latin1) => Encoding.Latin1.GetBytes(latin1);

    private static RespValue Parse(string reply) => RespValue.Parse(B(reply));

    [Theory]
    [InlineData("+OK\r\n", ValueKind.Simple, "OK")]
    [InlineData("+\r\n", ValueKind.Simple, "")]
    [InlineData("-ERR no\r\n", ValueKind.Error, "ERR no")]
    [InlineData("$5\r\nhello\r\n", ValueKind.Bulk, "hello")]
    [InlineData("$0\r\n\r\n", ValueKind.Bulk, "")]
    [InlineData("$6\r\n\r\n\r\n\r\n\r\n", ValueKind.Bulk, "\r\n\r\n\r\n")]
    [InlineData(",3.14\r\n", ValueKind.Double, "3.14")]
    [InlineData(",-inf\r\n", ValueKind.Double, "-inf")]
    [InlineData("(3492890328409238509324850943850943825024385\r\n", ValueKind.BigNumber, "3492890328409238509324850943850943825024385")]
    [InlineData("!21\r\nSYNTAX invalid syntax\r\n", ValueKind.BulkError, "SYNTAX invalid syntax")]
    public void String_kinds_carry_their_text(string reply, ValueKind kind, string text)
    {
        var value = Parse(reply);
        Assert.Equal(kind, value.Kind);
        Assert.Equal(text, value.Text);
        Assert.Empty(value.Items);
    }

    [Fact]
    public void Bulk_keeps_binary_bytes_exactly()
    {
        var value = RespValue.Parse([(byte)'$', (byte)'3', 13, 10, 0, 0xff, 13, 13, 10]);
        Assert.Equal(new byte[] { 0, 0xff, 13 }, value.Bytes);
    }

    [Theory]
    [InlineData(":0\r\n", 0)]
    [InlineData(":-9223372036854775808\r\n", long.MinValue)]
    [InlineData(":9223372036854775807\r\n", long.MaxValue)]
    public void Integers(string reply, long expected)
    {
        var value = Parse(reply);
        Assert.Equal(ValueKind.Integer, value.Kind);
        Assert.Equal(expected, value.Integer);
        Assert.Null(value.Text);
    }

    [Theory]
    [InlineData("#t\r\n", 1)]
    [InlineData("#f\r\n", 0)]
    public void Booleans(string reply, long expected)
    {
        var value = Parse(reply);
        Assert.Equal(ValueKind.Boolean, value.Kind);
        Assert.Equal(expected, value.Integer);
    }

    [Theory]
    [InlineData("$-1\r\n")]
    [InlineData("*-1\r\n")]
    [InlineData("_\r\n")]
    public void Nulls(string reply)
    {
        var value = Parse(reply);
        Assert.True(value.IsNull);
        Assert.Null(value.Text);
        Assert.Equal("(nil)", value.ToString());
    }

    [Fact]
    public void Verbatim_splits_format_from_text()
    {
        var value = Parse("=15\r\ntxt:Some string\r\n");
        Assert.Equal(ValueKind.Verbatim, value.Kind);
        Assert.Equal("txt", value.Format);
        Assert.Equal("Some string", value.Text);
    }

    [Fact]
    public void Nested_arrays_keep_order_and_kinds()
    {
        var value = Parse("*3\r\n:1\r\n*2\r\n+a\r\n-b\r\n$1\r\nx\r\n");
        Assert.Equal(ValueKind.Array, value.Kind);
        Assert.Equal(3, value.Items.Count);
        Assert.Equal(1, value.Items[0].Integer);
        Assert.Equal(ValueKind.Simple, value.Items[1].Items[0].Kind);
        Assert.True(value.Items[1].Items[1].IsError);
        Assert.Equal("x", value.Items[2].Text);
        Assert.Equal("[1, [a, b], x]", value.ToString());
    }

    [Theory]
    [InlineData("*0\r\n", ValueKind.Array)]
    [InlineData("%0\r\n", ValueKind.Map)]
    [InlineData("~0\r\n", ValueKind.Set)]
    public void Empty_aggregates(string reply, ValueKind kind)
    {
        var value = Parse(reply);
        Assert.Equal(kind, value.Kind);
        Assert.Empty(value.Items);
    }

    [Fact]
    public void Empty_aggregates_inside_aggregates()
    {
        var value = Parse("*3\r\n*0\r\n*-1\r\n*1\r\n%0\r\n");
        Assert.Equal(3, value.Items.Count);
        Assert.Empty(value.Items[0].Items);
        Assert.True(value.Items[1].IsNull);
        Assert.Equal(ValueKind.Map, value.Items[2].Items[0].Kind);
    }

    [Fact]
    public void Map_alternates_keys_and_values_and_reads_as_a_field_map()
    {
        var value = Parse("%2\r\n+first\r\n$1\r\n1\r\n+second\r\n:2\r\n");
        Assert.Equal(ValueKind.Map, value.Kind);
        Assert.Equal(4, value.Items.Count);
        var fields = value.AsFieldMap();
        Assert.Equal("1", fields["first"]);
        Assert.Equal("", fields["second"]); // an integer is not text
    }

    [Fact]
    public void Flat_array_reads_as_a_field_map()
    {
        var fields = Parse("*4\r\n$4\r\nname\r\n$8\r\nmymaster\r\n$4\r\nport\r\n$4\r\n6379\r\n").AsFieldMap();
        Assert.Equal("mymaster", fields["name"]);
        Assert.Equal("6379", fields["port"]);
    }

    [Fact]
    public void Push_and_set_kinds()
    {
        var push = Parse(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n");
        Assert.Equal(ValueKind.Push, push.Kind);
        Assert.Equal("ch", push.Items[1].Text);
        Assert.Equal(ValueKind.Set, Parse("~2\r\n+a\r\n+b\r\n").Kind);
    }

    [Fact]
    public void An_attribute_is_dropped_and_the_value_after_it_returned()
    {
        Assert.Equal("x", Parse("|1\r\n+key\r\n+meta\r\n$1\r\nx\r\n").Text);
        var array = Parse("*2\r\n|1\r\n+k\r\n*1\r\n:1\r\n+a\r\n+b\r\n");
        Assert.Equal(["a", "b"], array.Items.Select(i => i.Text));
        Assert.Equal(1, Parse("|0\r\n:1\r\n").Integer);
    }

    [Fact]
    public void ParseFirst_says_how_many_bytes_the_first_reply_took()
    {
        var value = RespValue.ParseFirst(B("*1\r\n+a\r\n+next\r\n"), out int length);
        Assert.Equal(8, length);
        Assert.Equal("a", value.Items[0].Text);
    }

    [Fact]
    public void Deep_nesting_needs_no_recursion()
    {
        const int depth = 200_000;
        var reply = new StringBuilder();
        for (int i = 0; i < depth; i++) reply.Append("*1\r\n");
        reply.Append(":7\r\n");
        var value = Parse(reply.ToString());
        for (int i = 0; i < depth; i++) value = value.Items[0];
        Assert.Equal(7, value.Integer);
    }

    [Theory]
    [InlineData("")]
    [InlineData("+OK")]
    [InlineData("+OK\r\n+extra\r\n")]
    [InlineData("$5\r\nhel\r\n")]
    [InlineData("$3\r\nhelxx")]
    [InlineData("$-2\r\n")]
    [InlineData("*2\r\n:1\r\n")]
    [InlineData("*-2\r\n")]
    [InlineData("%-1\r\n")]
    [InlineData(":12a\r\n")]
    [InlineData(":+1\r\n")]
    [InlineData("_x\r\n")]
    [InlineData("#x\r\n")]
    [InlineData("=3\r\ntxt\r\n")]
    [InlineData("?what\r\n")]
    [InlineData("|1\r\n+k\r\n+v\r\n")]
    public void Malformed_or_incomplete_input_throws(string reply)
    {
        Assert.Throws<RespProtocolException>(() => Parse(reply));
    }

    [Fact]
    public void A_count_larger_than_the_bytes_left_is_refused_before_allocating()
    {
        Assert.Throws<RespProtocolException>(() => Parse("*2147483647\r\n:1\r\n"));
        Assert.Throws<RespProtocolException>(() => Parse("%1000000000\r\n"));
    }

    [Fact]
    public void Every_reply_the_scanner_accepts_parses_to_its_whole_length()
    {
        foreach (string reply in ReplyScannerTests.Replies)
        {
            var bytes = B(reply);
            Assert.True(new ReplyScanner().TryScan(bytes, out int length));
            RespValue.ParseFirst(bytes, out int parsed);
            Assert.Equal(length, parsed);
        }
    }
}
