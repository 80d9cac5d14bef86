using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Commands;

/// <summary>
/// A transaction that arrived whole in one read (MULTI, plain commands, EXEC, as client libraries pipeline it) goes on
/// the client's shared connection as one request: the writer puts its bytes on the wire contiguously, so Redis queues
/// exactly these commands and no other client's, and the server reader gathers its replies (+OK, +QUEUED..., the EXEC
/// array) into that one request. No dedicated connection, no extra hop. Anything else (WATCH, a command Rampart
/// answers or refuses, a blocking call, keys on two servers, an incomplete transaction) takes the pinned path.
/// </summary>
internal static class WholeTransaction
{
    /// <summary>Commands in one whole transaction; longer ones take the pinned path.</summary>
    private const int MaxCommands = 128;

    /// <summary>True when the transaction starting with this MULTI was sent whole on the shared path.</summary>
    public static bool TryForward(ClientSession session, CommandInfo multiCommand, Request multi, ReadOnlySpan<byte> raw, bool inline)
    {
        if (inline || multi.Count != 1) return false;
        var rest = session.InputAfter(raw.Length);
        var reader = session.Lookahead;
        var routing = session.Pool.Routing;
        ServerEndpoint? server = routing.IsSingleServer ? routing.Default : null;
        int placement = -1;
        CommandInfo? pausable = null; // a queued command a CLIENT PAUSE WRITE would hold
        CommandInfo? write = null; // a queued command that may write: with min_replicas_ack, EXEC's reply waits for replicas
        int offset = 0;
        int replies = 1; // MULTI's
        while (true)
        {
            var status = reader.TryRead(rest[offset..], out int consumed);
            if (status != ParseStatus.Complete || reader.IsInline || reader.ArgumentCount == 0 || replies > MaxCommands)
            {
                reader.Reset();
                return false;
            }
            var request = new Request(reader, rest[offset..]);
            var command = CommandTable.Find(request.Command);
            if (command is { IsContainer: true } && request.Count >= 2) command = CommandTable.FindSubcommand(command, request[1]);
            if (command is null || !command.ArityAccepts(request.Count)) return false;
            offset += consumed;
            replies++;
            if (command.Name == "exec") break;
            if (session.Pool.Commands.HandlingOf(command) != CommandHandling.Forward || command.IsBlockingCall(request)
                || command.TakesWholeConnection) return false;
            if (!routing.IsSingleServer && !SamePlacement(routing, command, request, ref placement, ref server)) return false;
            if (command.MayWaitForWritePause) pausable = command;
            if (command.MayWrite) write = command;
        }
        bool durable = write is not null && session.Pool.Config.WritesDurably;
        // The durable lane is taken only with nothing of the client's in flight: the pinned path waits for that.
        if (durable && CommandDispatcher.MustWaitForDurableLane(session, write!))
        {
            reader.Reset();
            return false;
        }
        server ??= routing.Default; // keyless commands only
        var whole = ProxyRequest.Rent(session);
        whole.Payload.Write(raw);
        whole.Payload.Write(rest[..offset]);
        whole.ExtraReplies = whole.PendingReplies = replies - 1;
        whole.AwaitsReplicas = durable;
        session.AlsoConsume(offset);
        session.BeginCommand(multiCommand.Id); // per-command metrics count the transaction under MULTI
        // Redis holds an EXEC under CLIENT PAUSE WRITE when a queued command would be held (under ALL, any EXEC).
        session.Forward(session.ConnectionTo(server, server.HoldsWhilePaused(pausable ?? multiCommand), durable), whole);
        return true;
    }

    /// <summary>True when the command's keys share the placement (server, or cluster slot) of the ones before.</summary>
    private static bool SamePlacement(Pools.PoolRouting routing, CommandInfo command, Request request, ref int placement, ref ServerEndpoint? server)
    {
        if (!command.TryGetKeys(request, out var keys)) return false;
        foreach (int index in keys)
        {
            int next = routing.PlacementOf(request[index]);
            if (placement >= 0 && next != placement) return false;
            placement = next;
            server = routing.ServerOfPlacement(next);
            if (server is null) return false;
        }
        return true;
    }
}
