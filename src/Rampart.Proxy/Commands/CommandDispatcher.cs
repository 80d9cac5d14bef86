using Rampart.Protocol;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Commands;

/// <summary>
/// Decides what happens to one request: answered by Rampart itself, refused with a reason, or forwarded to the
/// server that owns its key.
/// </summary>
internal static class CommandDispatcher
{
    public static void Dispatch(ClientSession session, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (LocalCommands.TryAnswer(session, request)) return;
        var routing = session.Pool.Routing;
        var server = routing.Default;
        Forward(session, server, request, raw, inline);
    }

    public static void Forward(ClientSession session, ServerEndpoint server, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var forwarded = ProxyRequest.Rent(session);
        if (inline) WriteMultibulk(forwarded.Payload, request);
        else forwarded.Payload.Write(raw);
        session.Forward(server.ConnectionFor(session.Id), forwarded);
    }

    /// <summary>Servers get every request as multibulk: an inline command is re-encoded from its parsed arguments.</summary>
    private static void WriteMultibulk(ByteBuffer output, Request request)
    {
        RespWriter.ArrayHeader(output, request.Count);
        for (int i = 0; i < request.Count; i++) RespWriter.Bulk(output, request[i]);
    }
}
