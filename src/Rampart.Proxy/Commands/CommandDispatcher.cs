using System.Text;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Pinning;

namespace Rampart.Proxy.Commands;

/// <summary>
/// Decides what happens to one request, with Redis's own checks in Redis's order (unknown command, arity,
/// authentication): answered by Rampart itself, refused with a reason, or forwarded to the server owning its keys.
/// </summary>
internal static class CommandDispatcher
{
    /// <summary>Returns false when the request must wait (the session defers it and dispatches it again).</summary>
    public static bool Dispatch(ClientSession session, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (!session.Pool.Config.ReadYourWritesApplies) return DispatchRequest(session, request, raw, inline);
        // Read-your-writes: a write is counted once it is queued (after, never before: see ClientSession.ReadYourWrites).
        bool done = DispatchRequest(session, request, raw, inline);
        if (done && CommandTable.Find(request.Command) is not { IsReadOnly: true }) session.NoteWriteQueued();
        return done;
    }

    private static bool DispatchRequest(ClientSession session, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        // A client with connection state goes through its dedicated connection (the only cost to the shared path).
        if (session.Pin is { } pin)
        {
            var result = pin.Dispatch(request, raw, inline);
            if (result != PinnedResult.Shared) return result == PinnedResult.Done;
        }
        if (!TryResolve(session, request, out var command)) return true;

        if (session.Pool.Acl is { } acl && AclCommands.Answers(command))
        {
            AclCommands.Answer(session, acl, command);
            return true;
        }
        var policy = session.Pool.Commands;
        switch (policy.HandlingOf(command))
        {
            case CommandHandling.Local when command.Name == "ping" && PingsTheServer(session):
                break;
            case CommandHandling.Local:
                if (LocalCommands.ChangesProtocol(session, command, request) && session.HasPendingReplies)
                {
                    session.DeferUntilDrained(); // the other lane must not run later commands before earlier ones
                    return false;
                }
                if (AuthThrottle.IsAttempt(command, request) && AuthMustWait(session)) return false;
                LocalCommands.Answer(session, command, request);
                return true;
            case CommandHandling.Pinned:
                return PinnedSession.Begin(session, command, request, raw, inline);
            case CommandHandling.Unsupported:
                session.ReplyError(policy.RefusalOf(command));
                return true;
        }
        if (command.IsBlockingCall(request)) return PinnedSession.Begin(session, command, request, raw, inline);
        if (PassThroughSession.Wants(command, request)) return PassThroughSession.Begin(session, command, request, raw, inline);
        if (MustWaitForDurableLane(session, command))
        {
            session.DeferUntilDrained();
            return false;
        }
        if (!RoutedBySameMap(session)) return false;
        Route(session, command, request, raw, inline);
        return true;
    }

    /// <summary>
    /// An AUTH from an address with recent failures waits its turn (<see cref="AuthThrottle"/>): the request is deferred,
    /// not answered, so a guess is checked only once the wait is over, however many the client pipelines.
    /// </summary>
    private static bool AuthMustWait(ClientSession session)
    {
        var pool = session.Pool;
        long wait = pool.AuthThrottle.WaitBeforeAttempt(session.Source, pool.Time.NowMs());
        if (wait == 0) return false;
        pool.CountAuthDelayed();
        session.DeferUntil(Task.Delay(TimeSpan.FromMilliseconds(wait), pool.Time));
        return true;
    }

    /// <summary>
    /// In a cluster pool, a client's requests in flight when the slot map changes were routed by the old map: one may
    /// still be redirected (MOVED) to the node the next request would reach directly, and arrive there after it. So the
    /// first request after a change waits until the client's earlier replies are in (false: deferred), and a client's
    /// requests for a key run in its order across resharding. Maps change rarely; the usual cost is one comparison.
    /// </summary>
    private static bool RoutedBySameMap(ClientSession session)
    {
        var routing = session.Pool.Routing;
        if (!routing.IsCluster || routing.Version == session.RoutingVersion) return true;
        if (session.HasPendingReplies)
        {
            session.DeferUntilDrained();
            return false;
        }
        session.RoutingVersion = routing.Version;
        return true;
    }

    /// <summary>
    /// A durable write (<c>min_replicas_ack</c>) goes on the durable lane, which a client may only change to with nothing
    /// in flight: a write after reads still on the shared lane waits for their replies (else it could overtake them).
    /// </summary>
    internal static bool MustWaitForDurableLane(ClientSession session, CommandInfo command) =>
        command.MayWrite && !session.OnDurableLane && session.Pool.Config.WritesDurably && session.HasPendingReplies;

    /// <summary>
    /// PING is answered by Rampart, except while the one server of the pool holds the client's shared connection (a
    /// busy script): then the server answers it on the control connection, <c>-BUSY</c> as Redis would, so a health
    /// check through Rampart sees what it would see directly. Only with nothing of the client's in flight.
    /// </summary>
    private static bool PingsTheServer(ClientSession session)
    {
        var routing = session.Pool.Routing;
        return routing.IsSingleServer && !session.HasPendingReplies && session.SharedConnectionStalled(routing.Default);
    }

    /// <summary>
    /// Finds the command and applies Redis's checks in Redis's order (unknown command, unknown subcommand, arity,
    /// authentication); false with the error replied when one fails.
    /// </summary>
    public static bool TryResolve(ClientSession session, Request request, out CommandInfo command)
    {
        command = CommandTable.Find(request.Command)!;
        if (command is null)
        {
            session.LastCommand = null;
            ReplyError(session, CommandErrors.UnknownCommand, request);
            return false;
        }
        if (command.IsContainer && request.Count >= 2)
        {
            var sub = CommandTable.FindSubcommand(command, request[1]);
            if (sub is null)
            {
                session.LastCommand = null;
                ReplyError(session, CommandErrors.UnknownSubcommand, request);
                return false;
            }
            command = sub;
        }
        session.LastCommand = command; // CLIENT LIST's cmd=, set where Redis sets c->lastcmd: before any check
        if (!command.ArityAccepts(request.Count))
        {
            Reject(session, command, KeyErrorMessages.WrongArity(command));
            return false;
        }
        if (!session.IsAuthenticated && !LocalCommands.AllowedBeforeAuth(command))
        {
            Reject(session, command, "NOAUTH Authentication required.");
            return false;
        }
        // No ACL configured: one null test. With one, Redis's check after its authentication check.
        if (session.Pool.Acl is { } acl && Security.AclGate.Refusal(session, acl, command, request) is { } refusal)
        {
            Reject(session, command, refusal);
            return false;
        }
        return true;
    }

    /// <summary>
    /// Replies a rejection as Redis's rejectCommand does: an EXEC that fails a check is answered as an aborted
    /// transaction, in MULTI or not (<c>-EXECABORT Transaction discarded because of: wrong number of arguments for
    /// 'exec' command</c>, without the inner error's <c>ERR</c>).
    /// </summary>
    private static void Reject(ClientSession session, CommandInfo command, string error)
    {
        if (command.Name != "exec")
        {
            session.ReplyError(error);
            return;
        }
        string reason = error.StartsWith("ERR ", StringComparison.Ordinal) ? error[4..] : error;
        session.ReplyError("EXECABORT Transaction discarded because of: " + reason);
    }

    /// <summary>An error that quotes the client's bytes, written from bytes (see <see cref="CommandErrors"/>).</summary>
    private static void ReplyError(ClientSession session, WriteError write, Request request)
    {
        var reply = session.BeginLocal();
        write(reply.Payload, request);
        session.CompleteLocal(reply);
    }

    private delegate void WriteError(ByteBuffer output, Request request);

    internal static void Route(ClientSession session, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        session.BeginCommand(command.Id);
        var routing = session.Pool.Routing;
        if (routing.IsSingleServer)
        {
            ForwardRead(session, routing.Default, command, request, raw, inline);
            return;
        }
        if (command.MultiKeySplittable)
        {
            MultiKeySplitter.Dispatch(session, routing, command, request, raw, inline);
            return;
        }
        if (!command.TryGetKeys(request, out var keys))
        {
            session.ReplyError(KeyErrorMessages.For(command, keys.Error));
            return;
        }
        if (keys.Count == 0)
        {
            ShardedKeyless.Dispatch(session, routing, command, request, raw, inline);
            return;
        }
        if (TryFindOwner(session, routing, request, keys, out var server))
            ForwardRead(session, server, command, request, raw, inline);
    }

    /// <summary>Forwards to the master, or for a read in a pool with <c>read_from</c> to the replica it picks.</summary>
    private static void ForwardRead(ClientSession session, ServerEndpoint master, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var server = session.Pool.Config.ReadsFromReplicas ? ReplicaReadRouting.TargetOf(session, master, command) : master;
        if (server is not null) Forward(session, server, command, request, raw, inline);
    }

    /// <summary>
    /// Finds the one server owning every key (in a cluster pool: every key in one slot, as Redis Cluster requires);
    /// replies an error and returns false otherwise.
    /// </summary>
    private static bool TryFindOwner(ClientSession session, Pools.PoolRouting routing, Request request, KeyEnumerator keys, out ServerEndpoint server)
    {
        server = null!;
        int placement = -1;
        foreach (int index in keys)
        {
            int next = routing.PlacementOf(request[index]);
            if (placement >= 0 && next != placement)
            {
                session.ReplyError(Pinning.PinRouting.CrossSlot);
                return false;
            }
            placement = next;
        }
        if (routing.ServerOfPlacement(placement) is not { } owner)
        {
            session.Pool.CountForwardError();
            session.ReplyError(routing.NoServerError(session.Pool.Config.Name));
            return false;
        }
        server = owner;
        return true;
    }

    /// <summary>
    /// Sends the request to <paramref name="server"/>: on the client's shared connection, or on a side lane when a
    /// busy call must not hold it up (<see cref="ClientSession.ConnectionTo"/>, <see cref="ClientSession.ControlConnectionTo"/>).
    /// </summary>
    public static void Forward(ClientSession session, ServerEndpoint server, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var forwarded = ProxyRequest.Rent(session);
        if (inline) WriteMultibulk(forwarded.Payload, request);
        else forwarded.Payload.Write(raw);
        if (command.ChangesPause) NotePause(server, command, request);
        bool durableWrite = command.MayWrite && session.Pool.Config.WritesDurably;
        forwarded.AwaitsReplicas = durableWrite;
        var connection = command.RunsBesideBusyCalls
            ? session.ControlConnectionTo(server)
            : session.ConnectionTo(server, server.HoldsWhilePaused(command), durableWrite);
        session.Forward(connection, forwarded);
    }

    /// <summary>
    /// CLIENT PAUSE timeout [WRITE|ALL] or CLIENT UNPAUSE on its way to a server: while the pause lasts, the commands
    /// it holds take the detour lane, so a held write never holds the shared connection that reads use. A request
    /// the server then refuses (a bad timeout) at worst sends writes to the detour lane for nothing.
    /// </summary>
    internal static void NotePause(ServerEndpoint server, CommandInfo command, Request request)
    {
        if (command.Name == "client|unpause")
        {
            server.NoteUnpause();
            return;
        }
        if (request.Count < 3 || !RespNumber.TryParse(request[2], out long timeoutMs) || timeoutMs < 0) return;
        bool all = request.Count < 4 || Ascii.EqualsIgnoreCase(request[3], "ALL"u8);
        server.NotePause(timeoutMs, all);
    }

    /// <summary>Servers get every request as multibulk: an inline command is re-encoded from its parsed arguments.</summary>
    internal static void WriteMultibulk(ByteBuffer output, Request request)
    {
        RespWriter.ArrayHeader(output, request.Count);
        for (int i = 0; i < request.Count; i++) RespWriter.Bulk(output, request[i]);
    }
}
