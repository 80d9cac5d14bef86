using Rampart.Protocol;
using Rampart.Protocol.Commands;
using System.Text;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Commands;

/// <summary>
/// CLIENT UNBLOCK id [TIMEOUT|ERROR], where id is a Rampart client id (CLIENT ID, CLIENT LIST) of the same pool. A
/// client blocked in a blocking call runs it on a dedicated server connection: the call is translated to CLIENT UNBLOCK
/// of that connection's server-side id, sent to the same server over the caller's shared connection, so the blocked
/// client is woken exactly as Redis wakes one (TIMEOUT: the call's timeout reply; ERROR: -UNBLOCKED ...) and the caller
/// gets Redis's own :1 or :0. Any other id (unknown, not blocked, the caller itself) gets :0 from Rampart, as from
/// Redis. Arguments are checked in Redis 7.0's order and with its texts (clientCommand in networking.c).
/// </summary>
internal static class ClientUnblockCommand
{
    public static void Run(ClientSession session, CommandInfo command, Request request)
    {
        // Redis reads the reason before the id, and answers more than 4 arguments with the subcommand syntax error.
        if (request.Count > 4)
        {
            var reply = session.BeginLocal();
            RespWriter.Error(reply.Payload, "ERR unknown subcommand or wrong number of arguments for '"u8, request[1], "'. Try CLIENT HELP."u8);
            session.CompleteLocal(reply);
            return;
        }
        bool error = false;
        if (request.Count == 4)
        {
            if (Ascii.EqualsIgnoreCase(request[3], "error"u8)) error = true;
            else if (!Ascii.EqualsIgnoreCase(request[3], "timeout"u8))
            {
                session.ReplyError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                return;
            }
        }
        if (!RespNumber.TryParse(request[2], out long id))
        {
            session.ReplyError("ERR value is not an integer or out of range");
            return;
        }
        if (FindBlocked(session, id) is not { } target)
        {
            var zero = session.BeginLocal();
            RespWriter.Integer(zero.Payload, 0);
            session.CompleteLocal(zero);
            return;
        }
        var forwarded = ProxyRequest.Rent(session);
        RespWriter.ArrayHeader(forwarded.Payload, error ? 4 : 3);
        RespWriter.Bulk(forwarded.Payload, "CLIENT"u8);
        RespWriter.Bulk(forwarded.Payload, "UNBLOCK"u8);
        RespWriter.Bulk(forwarded.Payload, target.ServerClientId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (error) RespWriter.Bulk(forwarded.Payload, "ERROR"u8);
        session.BeginCommand(command.Id);
        session.Forward(session.ConnectionTo(target.Server), forwarded);
    }

    /// <summary>The dedicated connection of the pool's client <paramref name="id"/>, when a blocking call of it is out.</summary>
    private static (ServerEndpoint Server, long ServerClientId)? FindBlocked(ClientSession caller, long id)
    {
        if (id == caller.Id) return null; // a client sending this is not blocked
        var client = caller.Pool.FindSession(id);
        return client is null || client.IsClosed ? null : client.Pin?.MarkForUnblock();
    }
}
