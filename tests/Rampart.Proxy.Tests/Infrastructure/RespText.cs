using System.Text;
using Rampart.Protocol;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// RESP frames as text, for tests that send raw bytes or compare what comes back with what Redis would send:
/// commands are encoded by the protocol's own <see cref="RespWriter"/> (the one encoder), a bulk string written out.
/// </summary>
public static class RespText
{
    /// <summary>A command as a client sends it: an array of bulk strings.</summary>
    public static string Command(params string[] args) => Encoding.UTF8.GetString(RespTestClient.Command(args));

    /// <summary>A bulk string frame (<c>$n\r\n...\r\n</c>), its length counted in UTF-8 bytes.</summary>
    public static string Bulk(string value) => $"${Encoding.UTF8.GetByteCount(value)}\r\n{value}\r\n";
}
