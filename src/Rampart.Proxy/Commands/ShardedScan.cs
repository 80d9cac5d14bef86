using Rampart.Protocol;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Commands;

/// <summary>
/// SCAN over several servers, one server at a time in the order given: server 0 from its start to its end, then
/// server 1, and so on (the cursor carries where the walk is, see <see cref="ScanCursor"/>). Each call goes to one
/// server with that server's own cursor and the client's other arguments unchanged (MATCH, COUNT, TYPE), and its reply
/// goes back with the cursor rewritten. Since every server's own walk returns every key that was there throughout, the
/// whole walk does too, as Redis guarantees; a key may come twice only if a server returns it twice.
/// The caller passes the servers in a stable order (a sharded pool's configured servers; a cluster's masters), so a
/// cursor means the same server from one call to the next. Off the data path: one small object per call.
/// </summary>
internal static class ShardedScan
{
    public static void Dispatch(ClientSession session, IReadOnlyList<ServerEndpoint> servers, Request request)
    {
        if (servers.Count > ScanCursor.MaxServers)
        {
            session.ReplyError($"ERR rampart: SCAN walks at most {ScanCursor.MaxServers} servers; this pool has {servers.Count}");
            return;
        }
        if (!ScanCursor.TryParse(request[1], out ulong cursor)
            || !ScanCursor.TryDecode(cursor, servers.Count, out int server, out ulong serverCursor))
        {
            session.ReplyError(ScanCursor.InvalidCursor);
            return;
        }
        var step = new Step(session.BeginLocal(), server, servers.Count, servers[server].Endpoint);
        var part = ProxyRequest.Rent(session);
        part.Parent = step;
        step.Part = part;
        Span<byte> digits = stackalloc byte[20];
        RespWriter.ArrayHeader(part.Payload, request.Count);
        RespWriter.Bulk(part.Payload, request[0]);
        RespWriter.Bulk(part.Payload, digits[..ScanCursor.Format(serverCursor, digits)]);
        for (int i = 2; i < request.Count; i++) RespWriter.Bulk(part.Payload, request[i]);
        session.ForwardPart(session.ConnectionTo(servers[server]), part);
    }

    /// <summary>
    /// Rewrites one server's SCAN reply (<c>*2 $cursor *keys</c>, the same in RESP2 and RESP3) into the client's:
    /// the walk's cursor, then the keys as the server sent them. An error reply passes through unchanged.
    /// </summary>
    internal static void RewriteReply(ReadOnlySpan<byte> reply, int server, int serverCount, string serverName, ByteBuffer output)
    {
        if (reply.Length > 0 && reply[0] is (byte)'-' or (byte)'!')
        {
            output.Write(reply);
            return;
        }
        if (!reply.StartsWith("*2\r\n$"u8)) throw new RespProtocolException("Protocol error from server: SCAN did not answer [cursor, keys]");
        var rest = reply[4..];
        int header = rest.IndexOf((byte)'\n') + 1;
        if (header < 4 || !RespNumber.TryParse(rest[1..(header - 2)], out long length) || length < 0 || rest.Length < header + length + 2)
            throw new RespProtocolException("Protocol error from server: bad SCAN cursor");
        if (!ScanCursor.TryParse(rest.Slice(header, (int)length), out ulong serverReply))
            throw new RespProtocolException("Protocol error from server: bad SCAN cursor");
        if (!ScanCursor.TryNext(server, serverCount, serverReply, out ulong next))
        {
            RespWriter.Error(output, $"ERR rampart: server {serverName} answered SCAN cursor {serverReply}, larger than the {ScanCursor.MaxServerCursor} a walk over several servers can carry");
            return;
        }
        Span<byte> digits = stackalloc byte[20];
        RespWriter.ArrayHeader(output, 2);
        RespWriter.Bulk(output, digits[..ScanCursor.Format(next, digits)]);
        output.Write(rest[(header + (int)length + 2)..]);
    }

    /// <summary>The client's place in its reply order while one server answers; completed by that one part.</summary>
    private sealed class Step(ProxyRequest parent, int server, int serverCount, string serverName) : IReplyGatherer
    {
        public ProxyRequest Part = null!;

        public ProxyRequest? ChildCompleted()
        {
            parent.Payload.Clear();
            try
            {
                RewriteReply(Part.Payload.Span, server, serverCount, serverName, parent.Payload);
            }
            catch (RespProtocolException e)
            {
                // A malformed reply spoils this one client reply only, as a split command's merge does.
                parent.Payload.Clear();
                RespWriter.Error(parent.Payload, "ERR rampart: cannot read the server's SCAN reply: " + e.Message);
            }
            Part.Return();
            parent.SetCompletedQuietly();
            return parent;
        }
    }
}
