using System.Text;
using Rampart.Protocol;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Backends;

/// <summary>
/// What a new server connection says before it carries client traffic: AUTH with the pool's redis_auth and SELECT
/// of its redis_db, as twemproxy does; CLIENT SETNAME rampart; and INFO server to learn the server's version (HELLO
/// reports it); a dedicated connection also asks CLIENT ID. A connection of the RESP3 lane (it serves clients that said HELLO 3) also sends HELLO 3 after AUTH,
/// so the server's replies reach those clients in the types Redis gives a RESP3 client.
/// A refusal of AUTH, HELLO 3 or SELECT makes the connect fail, and the server goes into backoff.
/// </summary>
internal static class ServerHandshake
{
    /// <summary>
    /// The server does not speak RESP3 (a Redis before 6, or HELLO renamed away): a fact about the RESP3 lane only,
    /// which must not put the server into backoff for its RESP2 clients.
    /// </summary>
    public sealed class Resp3RefusedException(string message) : IOException(message);

    /// <summary>
    /// Runs the handshake and returns the server's redis_version, if it said, and with <paramref name="askClientId"/>
    /// the connection's own id on the server (CLIENT ID, in the same round trip), if it said: a dedicated connection's,
    /// so that CLIENT UNBLOCK of the Rampart client it is lent to can name it.
    /// </summary>
    /// <param name="clusterReplica">A Redis Cluster replica that serves reads: READONLY, or it would redirect them to its master.</param>
    public static async Task<(string? Version, long? ClientId)> RunAsync(Transport.LoopSocket connection, PoolConfig pool, bool resp3, CancellationToken cancel,
        bool askClientId = false, bool clusterReplica = false)
    {
        using var output = new ByteBuffer(256);
        int required = 0;
        var names = new List<string>(3);
        if (pool.Cluster is { Password: { } clusterPassword } cluster)
        {
            // A cluster pool authenticates with its cluster: block (a Redis 6 ACL user, or the default user).
            if (cluster.User is { } user) WriteCommand(output, "AUTH", user, clusterPassword);
            else WriteCommand(output, "AUTH", clusterPassword);
            names.Add("AUTH");
            required++;
        }
        else if (pool.RedisAuth is not null)
        {
            WriteCommand(output, "AUTH", pool.RedisAuth);
            names.Add("AUTH");
            required++;
        }
        if (resp3)
        {
            // After AUTH, so a refused password gets AUTH's own error text; its reply is a RESP3 map.
            WriteCommand(output, "HELLO", "3");
            names.Add("HELLO 3");
            required++;
        }
        if (pool.RedisDb != 0)
        {
            WriteCommand(output, "SELECT", pool.RedisDb.ToString(System.Globalization.CultureInfo.InvariantCulture));
            names.Add("SELECT");
            required++;
        }
        if (clusterReplica)
        {
            WriteCommand(output, "READONLY");
            names.Add("READONLY");
            required++;
        }
        // Named so that operators can tell Rampart's connections apart in CLIENT LIST.
        WriteCommand(output, "CLIENT", "SETNAME", "rampart");
        if (askClientId) WriteCommand(output, "CLIENT", "ID");
        WriteCommand(output, "INFO", "server");
        int expected = required + (askClientId ? 3 : 2);
        await connection.SendAsync(output.Memory, cancel);

        using var input = new ByteBuffer(4096);
        var scanner = new ReplyScanner();
        string? version = null;
        long? clientId = null;
        for (int answered = 0; answered < expected;)
        {
            int read = await connection.ReceiveAsync(input.GetMemory(4096), cancel);
            if (read == 0) throw new IOException("server closed the connection during the handshake");
            input.Advance(read);
            while (answered < expected && scanner.TryScan(input.Span, out int length))
            {
                var reply = input.Span[..length];
                bool error = reply[0] is (byte)'-' or (byte)'!';
                // AUTH, HELLO 3 and SELECT must succeed; CLIENT SETNAME and INFO may be refused by an ACL, which costs nothing.
                if (error && answered < required)
                {
                    string refusal = $"server refused {names[answered]}: " + Encoding.UTF8.GetString(reply[1..^2]);
                    if (names[answered] == "HELLO 3") throw new Resp3RefusedException(refusal);
                    throw new IOException(refusal);
                }
                if (!error && answered == expected - 1) version = FindVersion(Encoding.UTF8.GetString(reply));
                // CLIENT ID may be refused (ACL, renamed): the connection works, only CLIENT UNBLOCK cannot name it.
                if (askClientId && answered == expected - 2 && reply[0] == (byte)':' && RespNumber.TryParse(reply[1..^2], out long id)) clientId = id;
                answered++;
                input.Consume(length);
            }
        }
        return (version, clientId);
    }

    private static string? FindVersion(string info)
    {
        const string field = "redis_version:";
        int at = info.IndexOf(field, StringComparison.Ordinal);
        if (at < 0) return null; // (a RESP3 connection gets INFO as a verbatim string: the same text after "txt:")
        int end = info.IndexOf('\r', at);
        return end < 0 ? null : info[(at + field.Length)..end];
    }

    private static void WriteCommand(ByteBuffer output, params string[] args)
    {
        RespWriter.ArrayHeader(output, args.Length);
        foreach (var arg in args) RespWriter.Bulk(output, arg);
    }
}
