using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Commands;

/// <summary>
/// Commands whose state belongs to the client's session rather than the server, answered by Rampart with the
/// replies Redis itself would give. Forwarding them would change the shared server connection for every client.
/// </summary>
internal static class LocalCommands
{
    /// <summary>What Redis lets an unauthenticated client run (server.c: CMD_NO_AUTH).</summary>
    public static bool AllowedBeforeAuth(CommandInfo command) => command.Name is "auth" or "hello" or "quit" or "reset";

    public static void Answer(ClientSession session, CommandInfo command, Request request)
    {
        var reply = session.BeginLocal();
        var output = reply.Payload;
        switch (command.Name)
        {
            case "ping":
                if (request.Count == 1) RespWriter.SimpleString(output, "PONG"u8);
                else if (request.Count == 2) RespWriter.Bulk(output, request[1]);
                else RespWriter.Error(output, "ERR wrong number of arguments for 'ping' command"u8); // pingCommand's own check
                break;
            case "echo":
                RespWriter.Bulk(output, request[1]);
                break;
            case "quit":
                RespWriter.SimpleString(output, "OK"u8);
                session.CloseAfterReplies();
                break;
            case "reset":
                session.Name = null;
                session.IsAuthenticated = session.Pool.Config.RedisAuth is null;
                RespWriter.SimpleString(output, "RESET"u8);
                break;
            case "select":
                Select(session, request, output);
                break;
            case "auth":
                Auth(session, request, output);
                break;
            case "hello":
                Hello(session, request, output);
                break;
            case "command|count":
                RespWriter.Integer(output, CommandTable.All.Count);
                break;
            case "client|setname":
                SetName(session, request, output);
                break;
            case "client|getname":
                if (session.Name is null) RespWriter.NullBulk(output);
                else RespWriter.Bulk(output, session.Name);
                break;
            case "client|id":
                RespWriter.Integer(output, session.Id);
                break;
            case "client|info":
                RespWriter.Bulk(output, ClientInfoLine(session));
                break;
            case "client|list":
                var list = new StringBuilder();
                foreach (var other in session.Pool.Sessions.OrderBy(s => s.Id)) list.Append(ClientInfoLine(other));
                RespWriter.Bulk(output, list.ToString());
                break;
            case "client|no-evict":
            case "client|setinfo":
                RespWriter.SimpleString(output, "OK"u8);
                break;
            case "acl|whoami":
                RespWriter.Bulk(output, "default"u8);
                break;
            default:
                RespWriter.Error(output, $"ERR '{command.DisplayName}' is not answered by rampart yet");
                break;
        }
        session.CompleteLocal(reply);
    }

    private static void Select(ClientSession session, Request request, ByteBuffer output)
    {
        if (!RespNumber.TryParse(request[1], out long db) || db is < int.MinValue or > int.MaxValue)
        {
            RespWriter.Error(output, "ERR value is not an integer or out of range"u8);
            return;
        }
        int configured = session.Pool.Config.RedisDb;
        if (db == configured) RespWriter.SimpleString(output, "OK"u8);
        else RespWriter.Error(output, $"ERR rampart: SELECT {db} is not supported: pool '{session.Pool.Config.Name}' serves database {configured} (redis_db) to every client over shared connections");
    }

    private static void Auth(ClientSession session, Request request, ByteBuffer output)
    {
        string? password = session.Pool.Config.RedisAuth;
        if (request.Count > 3)
        {
            RespWriter.Error(output, "ERR syntax error"u8);
            return;
        }
        if (password is null)
        {
            // Redis 7.0's text when no password is configured (acl.c).
            RespWriter.Error(output, request.Count == 2
                ? "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"u8
                : "WRONGPASS invalid username-password pair or user is disabled."u8);
            return;
        }
        bool userOk = request.Count == 2 || Ascii.Equals(request[1], "default"u8);
        if (userOk && PasswordMatches(request[request.Count - 1], password))
        {
            session.IsAuthenticated = true;
            RespWriter.SimpleString(output, "OK"u8);
        }
        else
        {
            RespWriter.Error(output, "WRONGPASS invalid username-password pair or user is disabled."u8);
        }
    }

    private static bool PasswordMatches(ReadOnlySpan<byte> given, string expected)
    {
        var expectedBytes = Encoding.UTF8.GetBytes(expected);
        return CryptographicOperations.FixedTimeEquals(given, expectedBytes);
    }

    /// <summary>
    /// HELLO [protover [AUTH user pass] [SETNAME name]]. RESP2 is answered as Redis does; RESP3 needs server
    /// connections that speak it, which arrive with pinned connections, so it is refused with Redis's NOPROTO.
    /// </summary>
    private static void Hello(ClientSession session, Request request, ByteBuffer output)
    {
        int i = 1;
        if (request.Count >= 2)
        {
            if (!RespNumber.TryParse(request[1], out long version))
            {
                RespWriter.Error(output, "ERR Protocol version is not an integer or out of range"u8);
                return;
            }
            if (version != 2)
            {
                RespWriter.Error(output, "NOPROTO unsupported protocol version"u8);
                return;
            }
            i = 2;
        }
        string? name = null;
        for (; i < request.Count; i++)
        {
            bool more = i + 1 < request.Count;
            if (Ascii.EqualsIgnoreCase(request[i], "AUTH"u8) && i + 2 < request.Count)
            {
                string? password = session.Pool.Config.RedisAuth;
                bool ok = password is not null && Ascii.Equals(request[i + 1], "default"u8) && PasswordMatches(request[i + 2], password);
                if (!ok)
                {
                    RespWriter.Error(output, "WRONGPASS invalid username-password pair or user is disabled."u8);
                    return;
                }
                session.IsAuthenticated = true;
                i += 2;
            }
            else if (Ascii.EqualsIgnoreCase(request[i], "SETNAME"u8) && more)
            {
                name = Encoding.UTF8.GetString(request[i + 1]);
                i++;
            }
            else
            {
                RespWriter.Error(output, $"ERR Syntax error in HELLO option '{Encoding.UTF8.GetString(request[i])}'");
                return;
            }
        }
        if (!session.IsAuthenticated)
        {
            RespWriter.Error(output, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"u8);
            return;
        }
        if (name is not null) session.Name = name.Length == 0 ? null : name;

        RespWriter.ArrayHeader(output, 14);
        RespWriter.Bulk(output, "server"u8);
        RespWriter.Bulk(output, "redis"u8);
        RespWriter.Bulk(output, "version"u8);
        RespWriter.Bulk(output, session.Pool.ServerVersion ?? CommandTable.RedisVersion);
        RespWriter.Bulk(output, "proto"u8);
        RespWriter.Integer(output, 2);
        RespWriter.Bulk(output, "id"u8);
        RespWriter.Integer(output, session.Id);
        RespWriter.Bulk(output, "mode"u8);
        RespWriter.Bulk(output, "standalone"u8);
        RespWriter.Bulk(output, "role"u8);
        RespWriter.Bulk(output, "master"u8);
        RespWriter.Bulk(output, "modules"u8);
        RespWriter.ArrayHeader(output, 0);
    }

    private static void SetName(ClientSession session, Request request, ByteBuffer output)
    {
        var name = request[2];
        foreach (byte b in name)
        {
            // Redis refuses spaces, newlines and other special characters in client names (networking.c).
            if (b < '!' || b > '~')
            {
                RespWriter.Error(output, "ERR Client names cannot contain spaces, newlines or special characters."u8);
                return;
            }
        }
        session.Name = name.Length == 0 ? null : Encoding.ASCII.GetString(name);
        RespWriter.SimpleString(output, "OK"u8);
    }

    /// <summary>A CLIENT LIST line about a Rampart client, in Redis's field order; fields Rampart has no value for are 0.</summary>
    private static string ClientInfoLine(ClientSession s)
    {
        long age = (long)(DateTime.UtcNow - s.ConnectedAt).TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"id={s.Id} addr={s.RemoteEndPoint} laddr={s.LocalEndPoint} fd=0 name={s.Name} age={age} idle=0 flags=N db={s.Pool.Config.RedisDb} sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|info user=default redir=-1 resp=2\n");
    }
}
