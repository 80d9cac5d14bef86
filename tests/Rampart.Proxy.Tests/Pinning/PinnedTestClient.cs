using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>Helpers for reading RespTestClient replies as text.</summary>
internal static class Replies
{
    public static string? Text(object? reply) => reply switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string s => s,
        long n => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
        RespError e => "-" + e.Message,
        null => null,
        _ => throw new InvalidOperationException($"not a scalar reply: {reply}"),
    };

    /// <summary>An array reply's items as text, nil as "(nil)".</summary>
    public static string[] Array(object? reply) =>
        reply is object?[] items ? System.Array.ConvertAll(items, i => Text(i) ?? "(nil)") : throw new InvalidOperationException($"not an array reply: {Text(reply)}");

    /// <summary>Sends a command and returns its reply as text (errors as "-...").</summary>
    public static string? Ask(this RespTestClient client, params string[] args) => Text(client.Call(args));
}
