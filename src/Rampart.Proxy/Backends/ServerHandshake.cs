using System.Net.Sockets;
using System.Text;
using Rampart.Protocol;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Backends;

/// <summary>
/// What a new server connection says before it carries client traffic: AUTH with the pool's redis_auth and SELECT
/// of its redis_db, as twemproxy does, and INFO server to learn the server's version (HELLO reports it).
/// A refusal of AUTH or SELECT makes the connect fail, and the server goes into backoff.
/// </summary>
internal static class ServerHandshake
{
    /// <summary>Runs the handshake and returns the server's redis_version, if it said.</summary>
    public static async Task<string?> RunAsync(Socket socket, PoolConfig pool, CancellationToken cancel)
    {
        using var output = new ByteBuffer(256);
        int expected = 0;
        if (pool.RedisAuth is not null)
        {
            WriteCommand(output, "AUTH", pool.RedisAuth);
            expected++;
        }
        if (pool.RedisDb != 0)
        {
            WriteCommand(output, "SELECT", pool.RedisDb.ToString(System.Globalization.CultureInfo.InvariantCulture));
            expected++;
        }
        WriteCommand(output, "INFO", "server");
        expected++;
        await socket.SendAsync(output.Memory, SocketFlags.None, cancel);

        using var input = new ByteBuffer(4096);
        var scanner = new ReplyScanner();
        string? version = null;
        while (expected > 0)
        {
            int read = await socket.ReceiveAsync(input.GetMemory(4096), SocketFlags.None, cancel);
            if (read == 0) throw new IOException("server closed the connection during the handshake");
            input.Advance(read);
            while (expected > 0 && scanner.TryScan(input.Span, out int length))
            {
                var reply = input.Span[..length];
                expected--;
                if (reply[0] == (byte)'-')
                {
                    // INFO may be renamed or refused by the server's ACL: not knowing the version is fine.
                    if (expected > 0) throw new IOException("server refused AUTH/SELECT: " + Encoding.UTF8.GetString(reply[1..^2]));
                }
                else if (expected == 0)
                {
                    version = FindVersion(Encoding.UTF8.GetString(reply));
                }
                input.Consume(length);
            }
        }
        return version;
    }

    private static string? FindVersion(string info)
    {
        const string field = "redis_version:";
        int at = info.IndexOf(field, StringComparison.Ordinal);
        if (at < 0) return null;
        int end = info.IndexOf('\r', at);
        return end < 0 ? null : info[(at + field.Length)..end];
    }

    private static void WriteCommand(ByteBuffer output, string name, string argument)
    {
        RespWriter.ArrayHeader(output, 2);
        RespWriter.Bulk(output, name);
        RespWriter.Bulk(output, argument);
    }
}
