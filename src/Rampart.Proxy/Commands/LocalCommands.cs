using System.Text;
using Rampart.Protocol;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Commands;

/// <summary>Commands Rampart answers itself, with the replies a Redis server would give.</summary>
internal static class LocalCommands
{
    public static bool TryAnswer(ClientSession session, Request request)
    {
        var name = request.Command;
        if (name.Length == 4 && Ascii.EqualsIgnoreCase(name, "PING"u8)) { Ping(session, request); return true; }
        if (name.Length == 4 && Ascii.EqualsIgnoreCase(name, "ECHO"u8)) { Echo(session, request); return true; }
        if (name.Length == 4 && Ascii.EqualsIgnoreCase(name, "QUIT"u8)) { Quit(session); return true; }
        if (Ascii.EqualsIgnoreCase(name, "SUBSCRIBE"u8) || Ascii.EqualsIgnoreCase(name, "PSUBSCRIBE"u8) || Ascii.EqualsIgnoreCase(name, "MULTI"u8))
        {
            session.ReplyError($"ERR '{Encoding.ASCII.GetString(name).ToUpperInvariant()}' is not supported by rampart yet: it needs a pinned server connection");
            return true;
        }
        return false;
    }

    private static void Ping(ClientSession session, Request request)
    {
        var reply = session.BeginLocal();
        if (request.Count == 1) RespWriter.SimpleString(reply.Payload, "PONG"u8);
        else if (request.Count == 2) RespWriter.Bulk(reply.Payload, request[1]);
        else RespWriter.Error(reply.Payload, "ERR wrong number of arguments for 'ping' command"u8);
        session.CompleteLocal(reply);
    }

    private static void Echo(ClientSession session, Request request)
    {
        var reply = session.BeginLocal();
        if (request.Count == 2) RespWriter.Bulk(reply.Payload, request[1]);
        else RespWriter.Error(reply.Payload, "ERR wrong number of arguments for 'echo' command"u8);
        session.CompleteLocal(reply);
    }

    private static void Quit(ClientSession session)
    {
        var reply = session.BeginLocal();
        RespWriter.SimpleString(reply.Payload, "OK"u8);
        session.CompleteLocal(reply);
        session.CloseAfterReplies();
    }
}
