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
        if (command.Name == "client|unblock")
        {
            ClientUnblockCommand.Run(session, command, request); // answered here, or sent to a server on the client's behalf
            return;
        }
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
                session.ResetReplyMode(reply);
                session.Name = null;
                session.IsAuthenticated = session.Pool.Config.RedisAuth is null;
                if (session.Pool.Acl is { } acl) Security.AclGate.Start(session, acl);
                session.Resp3 = false; // Redis's RESET goes back to RESP2 too
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
            case "acl|whoami":
                RespWriter.Bulk(output, session.AclUser?.NameBytes ?? "default"u8);
                break;
            default:
                // Only a cluster pool's policy makes these Local: elsewhere they are forwarded or refused as before.
                if (ClusterSelfAnswers.Answers(command))
                    ClusterSelfAnswers.Write(output, command, request, ClusterSelf.Of(session.Pool.Config.Name, session.LocalEndPoint, session.Pool.ServedSlots), session.Resp3);
                else if (!ClientCommands.TryAnswer(session, command, request, reply))
                    RespWriter.Error(output, $"ERR '{command.DisplayName}' is not answered by rampart yet");
                break;
        }
        session.CompleteLocal(reply);
    }

    private static void Select(ClientSession session, Request request, ByteBuffer output)
    {
        if (SelectRefusal(session, request[1]) is { } refusal) RespWriter.Error(output, refusal);
        else RespWriter.SimpleString(output, "OK"u8);
    }

    /// <summary>
    /// SELECT's checks in Redis's order: null when <paramref name="index"/> is the pool's database, else the error.
    /// Redis's own errors where a server would give them (not an integer; any index but 0 on a cluster; a negative
    /// index); any other database is refused with the reason: every client of a pool uses its <c>redis_db</c>.
    /// </summary>
    internal static string? SelectRefusal(ClientSession session, ReadOnlySpan<byte> index)
    {
        if (!RespNumber.TryParse(index, out long db) || db is < int.MinValue or > int.MaxValue)
            return "ERR value is not an integer or out of range";
        if (session.Pool.Routing.IsCluster && db != 0) return "ERR SELECT is not allowed in cluster mode";
        if (db < 0) return "ERR DB index is out of range"; // no server has such a database
        int configured = session.Pool.Config.RedisDb;
        return db == configured ? null
            : $"ERR rampart: SELECT {db} is not supported: pool '{session.Pool.Config.Name}' serves database {configured} (redis_db) to every client of its listener";
    }

    private static void Auth(ClientSession session, Request request, ByteBuffer output)
    {
        string? password = session.Pool.Config.RedisAuth;
        if (request.Count > 3)
        {
            RespWriter.Error(output, "ERR syntax error"u8);
            return;
        }
        if (session.Pool.Acl is { } acl)
        {
            if (request.Count == 2 && acl.Default is { NoPass: true })
                RespWriter.Error(output, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"u8);
            else if (Security.AclGate.Authenticate(session, acl, request.Count == 2 ? "default"u8 : request[1], request[request.Count - 1]))
                Authenticated(session, output);
            else
                WrongPassword(session, output);
            return;
        }
        if (password is null && request.Count == 2)
        {
            // Redis 7.0's text when no password is configured (acl.c).
            RespWriter.Error(output, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"u8);
            return;
        }
        if (Authenticates(request.Count == 2 ? "default"u8 : request[1], request[request.Count - 1], password))
        {
            session.IsAuthenticated = true;
            Authenticated(session, output);
        }
        else
        {
            WrongPassword(session, output);
        }
    }

    /// <summary>AUTH succeeded: its address's failures are forgotten (Clients/AuthThrottle).</summary>
    private static void Authenticated(ClientSession session, ByteBuffer output)
    {
        session.Pool.AuthSucceeded(session);
        RespWriter.SimpleString(output, "OK"u8);
    }

    /// <summary>Redis's answer to a wrong password; the failure is counted and slows the address's next AUTH.</summary>
    private static void WrongPassword(ClientSession session, ByteBuffer output)
    {
        session.Pool.AuthFailed(session);
        RespWriter.Error(output, "WRONGPASS invalid username-password pair or user is disabled."u8);
    }

    /// <summary>
    /// ACL AUTH against the only user a Rampart pool has, "default": with <c>redis_auth</c> its password is that; without,
    /// the user is Redis's "nopass" default user, which any password opens.
    /// </summary>
    private static bool Authenticates(ReadOnlySpan<byte> user, ReadOnlySpan<byte> given, string? password) =>
        Ascii.Equals(user, "default"u8) && (password is null || PasswordMatches(given, password));

    private static bool PasswordMatches(ReadOnlySpan<byte> given, string expected)
    {
        var expectedBytes = Encoding.UTF8.GetBytes(expected);
        return CryptographicOperations.FixedTimeEquals(given, expectedBytes);
    }

    /// <summary>
    /// True when <paramref name="request"/> would switch the client between RESP2 and RESP3 (HELLO 2/3, RESET). The
    /// client's later requests then go on connections of the other lane, so the switch waits until every earlier
    /// request is answered: Redis runs the client's commands in the order it sent them, across the two lanes.
    /// </summary>
    public static bool ChangesProtocol(ClientSession session, CommandInfo command, Request request) => command.Name switch
    {
        "hello" => request.Count >= 2 && RespNumber.TryParse(request[1], out long version) && version is 2 or 3
            && (version == 3) != session.Resp3,
        "reset" => session.Resp3,
        _ => false,
    };

    /// <summary>
    /// HELLO [protover [AUTH user pass] [SETNAME name]], as Redis 7.0 answers it: 2 and 3 are known, anything else is
    /// NOPROTO; the reply is a flat array in RESP2 and a map in RESP3 (in the protocol just chosen). A RESP3 client's
    /// requests then go to server connections that said HELLO 3 themselves (ServerEndpoint's RESP3 lane), so their
    /// replies pass through verbatim with RESP3's types.
    /// </summary>
    private static void Hello(ClientSession session, Request request, ByteBuffer output)
    {
        int i = 1;
        long version = 0;
        if (request.Count >= 2)
        {
            if (!RespNumber.TryParse(request[1], out version))
            {
                RespWriter.Error(output, "ERR Protocol version is not an integer or out of range"u8);
                return;
            }
            // A pool with a server known to refuse HELLO 3 cannot serve RESP3: Redis's answer for a version it lacks.
            if (version is < 2 or > 3 || version == 3 && session.Pool.Routing.Servers.Any(s => s.Resp3Refused is not null))
            {
                RespWriter.Error(output, "NOPROTO unsupported protocol version"u8);
                return;
            }
            i = 2;
        }
        int user = -1, name = -1;
        for (; i < request.Count; i++)
        {
            int more = request.Count - 1 - i;
            if (Ascii.EqualsIgnoreCase(request[i], "AUTH"u8) && more >= 2)
            {
                user = i + 1;
                i += 2;
            }
            else if (Ascii.EqualsIgnoreCase(request[i], "SETNAME"u8) && more >= 1)
            {
                name = i + 1;
                i++;
            }
            else
            {
                RespWriter.Error(output, "ERR Syntax error in HELLO option '"u8, request[i], "'"u8);
                return;
            }
        }
        if (user > 0)
        {
            bool ok = session.Pool.Acl is { } acl
                ? Security.AclGate.Authenticate(session, acl, request[user], request[user + 1])
                : Authenticates(request[user], request[user + 1], session.Pool.Config.RedisAuth);
            if (!ok)
            {
                WrongPassword(session, output);
                return;
            }
            session.Pool.AuthSucceeded(session);
            session.IsAuthenticated = true;
        }
        if (!session.IsAuthenticated)
        {
            RespWriter.Error(output, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"u8);
            return;
        }
        if (name > 0 && !ClientCommands.TrySetName(session, request[name], output)) return;
        if (version != 0) session.Resp3 = version == 3;

        if (session.Resp3) RespWriter.MapHeader(output, 7);
        else RespWriter.ArrayHeader(output, 14);
        RespWriter.Bulk(output, "server"u8);
        RespWriter.Bulk(output, "redis"u8);
        RespWriter.Bulk(output, "version"u8);
        RespWriter.Bulk(output, session.Pool.ServerVersion ?? CommandTable.RedisVersion);
        RespWriter.Bulk(output, "proto"u8);
        RespWriter.Integer(output, session.Resp3 ? 3 : 2);
        RespWriter.Bulk(output, "id"u8);
        RespWriter.Integer(output, session.Id);
        RespWriter.Bulk(output, "mode"u8);
        RespWriter.Bulk(output, session.Pool.Config.Cluster is null ? "standalone"u8 : "cluster"u8); // a cluster pool is a one-node cluster
        RespWriter.Bulk(output, "role"u8);
        RespWriter.Bulk(output, "master"u8);
        RespWriter.Bulk(output, "modules"u8);
        RespWriter.ArrayHeader(output, 0);
    }
}
