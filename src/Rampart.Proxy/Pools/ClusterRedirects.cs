using Rampart.Protocol;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Pools;

/// <summary>
/// Follows a Redis Cluster's redirections for a cluster pool, so that its clients, which speak plain Redis, never see
/// one (Redis Cluster's client rules, "Redirection and resharding" in its specification):
/// <list type="bullet">
/// <item><c>-MOVED slot host:port</c>: the slot lives elsewhere now and the request was not run. The pool's map is
/// patched at once (later requests go straight there), a full refresh is asked for, and the request goes to that node.</item>
/// <item><c>-ASK slot host:port</c>: the slot is migrating and this key is already on the target. The request goes
/// there once behind an ASKING, and the map stays as it is.</item>
/// <item><c>-TRYAGAIN</c>: a multi-key request during a migration whose keys are split between the two nodes. It is
/// sent again after a short backoff, a bounded number of times; then the client gets the error.</item>
/// </list>
/// A request keeps its place in its client's reply queue throughout, so the client's replies stay in request order.
/// Redirections per request are bounded: a map that keeps sending a request around gets the client the last reply.
/// A transaction sent whole (MULTI ... EXEC, Commands.WholeTransaction) that the cluster refused with MOVED (so EXEC
/// answered EXECABORT and nothing ran) goes whole to the node named, the same way.
/// </summary>
internal sealed class ClusterRedirects(PoolRuntime pool) : IRedirectFollower
{
    /// <summary>Redirections one request may follow before its client gets the reply (a MOVED loop, TRYAGAIN that persists).</summary>
    internal const int MaxRedirections = 8;
    /// <summary>TRYAGAIN waits this long, doubled each time (5, 10, 20, ... ms): a migration moves a key in well under that.</summary>
    private const int TryAgainBaseMs = 5;

    private static ReadOnlySpan<byte> Asking => "*1\r\n$6\r\nASKING\r\n"u8;

    public bool IsRedirect(ReadOnlySpan<byte> reply) =>
        reply.StartsWith("-MOVED "u8) || reply.StartsWith("-ASK "u8) || reply.StartsWith("-TRYAGAIN"u8);

    public void Follow(ServerEndpoint from, ProxyRequest request, ReadOnlySpan<byte> reply)
    {
        if (request.Client is not ClientSession session || request.Redirections >= MaxRedirections)
        {
            Deliver(request, reply);
            return;
        }
        request.Redirections++;
        if (ClusterRedirect.TryParse(reply, out var redirect))
        {
            // An empty host (cluster-preferred-endpoint-type unknown-endpoint) means the node that answered.
            string host = redirect.Host.Length == 0 ? from.Config.Host : redirect.Host;
            ServerEndpoint target;
            if (redirect.IsAsk)
            {
                from.Stats.AddAsked();
                target = pool.ClusterServerAt(host, redirect.Port, movedSlot: -1);
            }
            else
            {
                from.Stats.AddMoved();
                target = pool.ClusterServerAt(host, redirect.Port, redirect.Slot);
            }
            SendOn(session, target, request, asking: redirect.IsAsk);
            return;
        }
        if (!reply.StartsWith("-TRYAGAIN"u8))
        {
            Deliver(request, reply); // a MOVED or ASK this parser cannot read: the client sees it as it is
            return;
        }
        int delay = TryAgainBaseMs << (request.Redirections - 1);
        _ = RetryLaterAsync(session, from, request, delay);
    }

    private async Task RetryLaterAsync(ClientSession session, ServerEndpoint server, ProxyRequest request, int delayMs)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(delayMs), pool.Time);
        session.Loop.Post(() => SendOn(session, server, request, asking: false));
    }

    /// <summary>Sends the request to <paramref name="target"/> on its client's connection, with ASKING ahead of it when asked.</summary>
    private static void SendOn(ClientSession session, ServerEndpoint target, ProxyRequest request, bool asking)
    {
        var payload = request.Payload;
        if (request.AskingPrefix)
        {
            payload.Consume(Asking.Length); // the ASKING of an earlier ASK: this node may not be the one it was for
            request.AskingPrefix = false;
        }
        if (asking) Prepend(payload, Asking);
        request.AskingPrefix = asking;
        request.SkipReplies = asking ? (byte)1 : (byte)0;
        var connection = session.ConnectionTo(target);
        connection.Enqueue(request);
        connection.Flush();
    }

    private static void Prepend(ByteBuffer payload, ReadOnlySpan<byte> prefix)
    {
        var original = payload.Span.ToArray(); // rare (an ASK during a migration): a copy is fine here
        payload.Clear();
        payload.Write(prefix);
        payload.Write(original);
    }

    /// <summary>
    /// The client gets the reply as it is (a redirection that cannot be followed, or one too many); a transaction sent
    /// whole gets it once per reply it waits for.
    /// </summary>
    private static void Deliver(ProxyRequest request, ReadOnlySpan<byte> reply)
    {
        if (request.ExtraReplies != 0)
        {
            request.Fail(System.Text.Encoding.UTF8.GetString(reply[1..^2]));
            return;
        }
        request.Payload.Clear();
        request.Payload.Write(reply);
        request.MarkCompleted();
    }
}
