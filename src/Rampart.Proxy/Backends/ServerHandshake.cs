using System.Net.Sockets;
using System.Text;
using Rampart.Protocol;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Backends;

/// <summary>
/// What a new server connection says before it carries client traffic: AUTH with the pool's redis_auth and SELECT
/// of its redis_db, as twemproxy does. A refusal makes the connect fail (and the server go into backoff).
/// </summary>
internal static class ServerHandshake
{
    public static async Task RunAsync(Socket socket, PoolConfig pool, CancellationToken cancel)
    {
        if (pool.RedisAuth is null && pool.RedisDb == 0) return;
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
        await socket.SendAsync(output.Memory, SocketFlags.None, cancel);

        using var input = new ByteBuffer(1024);
        var scanner = new ReplyScanner();
        while (expected > 0)
        {
            int read = await socket.ReceiveAsync(input.GetMemory(1024), SocketFlags.None, cancel);
            if (read == 0) throw new IOException("server closed the connection during AUTH/SELECT");
            input.Advance(read);
            while (expected > 0 && scanner.TryScan(input.Span, out int length))
            {
                if (input.Span[0] == (byte)'-')
                    throw new IOException("server refused AUTH/SELECT: " + Encoding.UTF8.GetString(input.Span.Slice(1, length - 3)));
                input.Consume(length);
                expected--;
            }
        }
    }

    private static void WriteCommand(ByteBuffer output, string name, string argument)
    {
        RespWriter.ArrayHeader(output, 2);
        RespWriter.Bulk(output, name);
        RespWriter.Bulk(output, argument);
    }
}
