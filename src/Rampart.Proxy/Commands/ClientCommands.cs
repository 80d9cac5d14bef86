using System.Globalization;
using System.Text;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Commands;

/// <summary>
/// CLIENT subcommands answered about Rampart's own clients (the sessions of the pool the client connected to), in
/// Redis 7.0's formats and with its error texts. Forwarding them would answer about Rampart's shared server
/// connections instead, or act on them. A pool is the client's "server": CLIENT LIST and CLIENT KILL see the clients
/// of that pool's listener.
/// </summary>
internal static class ClientCommands
{
    /// <summary>Answers <paramref name="command"/> (a client|* entry); returns false for one it does not know.</summary>
    public static bool TryAnswer(ClientSession session, CommandInfo command, Request request, ProxyRequest reply)
    {
        var output = reply.Payload;
        switch (command.Name)
        {
            case "client|reply":
                Reply(session, request, reply);
                return true;
            case "client|setname":
                if (TrySetName(session, request[2], output)) RespWriter.SimpleString(output, "OK"u8);
                return true;
            case "client|getname":
                if (session.Name is null) RespWriter.NullBulk(output, session.Resp3);
                else RespWriter.Bulk(output, session.Name);
                return true;
            case "client|id":
                RespWriter.Integer(output, session.Id);
                return true;
            case "client|info":
                RespWriter.Text(output, InfoLine(session), session.Resp3);
                return true;
            case "client|list":
                List(session, request, output);
                return true;
            case "client|kill":
                Kill(session, request, output);
                return true;
            case "client|no-evict":
                // Eviction of client memory is about the server's clients; Rampart's own buffers are bounded by
                // client_output_buffer instead, so the flag is accepted and has nothing to change.
                if (IsOnOrOff(request[2])) RespWriter.SimpleString(output, "OK"u8);
                else RespWriter.Error(output, KeyErrorMessages.SyntaxError);
                return true;
            default:
                return false;
        }
    }

    /// <summary>CLIENT SETNAME and HELLO SETNAME: Redis refuses spaces, newlines and other special characters.</summary>
    public static bool TrySetName(ClientSession session, ReadOnlySpan<byte> name, ByteBuffer output)
    {
        foreach (byte b in name)
        {
            if (b < '!' || b > '~')
            {
                RespWriter.Error(output, "ERR Client names cannot contain spaces, newlines or special characters."u8);
                return false;
            }
        }
        session.Name = name.Length == 0 ? null : Encoding.ASCII.GetString(name);
        return true;
    }

    /// <summary>CLIENT REPLY ON (+OK) | OFF | SKIP (no reply, as in Redis), else Redis's syntax error.</summary>
    private static void Reply(ClientSession session, Request request, ProxyRequest reply)
    {
        var mode = request[2];
        if (Ascii.EqualsIgnoreCase(mode, "on"u8))
        {
            session.SetReplyMode(reply, ClientSession.ReplyMode.On);
            RespWriter.SimpleString(reply.Payload, "OK"u8);
        }
        else if (Ascii.EqualsIgnoreCase(mode, "off"u8)) session.SetReplyMode(reply, ClientSession.ReplyMode.Off);
        else if (Ascii.EqualsIgnoreCase(mode, "skip"u8)) session.SetReplyMode(reply, ClientSession.ReplyMode.SkipNext);
        else RespWriter.Error(reply.Payload, KeyErrorMessages.SyntaxError);
    }

    private static bool IsOnOrOff(ReadOnlySpan<byte> value) =>
        Ascii.EqualsIgnoreCase(value, "on"u8) || Ascii.EqualsIgnoreCase(value, "off"u8);

    /// <summary>CLIENT LIST [TYPE type] | [ID id [id ...]], with Redis 7.0's argument rules and errors.</summary>
    private static void List(ClientSession session, Request request, ByteBuffer output)
    {
        IEnumerable<ClientSession> clients = session.Pool.Sessions.Where(s => !s.IsClosed);
        if (request.Count == 4 && Ascii.EqualsIgnoreCase(request[2], "TYPE"u8))
        {
            var type = ClientTypeOf(request[3]);
            if (type is null)
            {
                RespWriter.Error(output, "ERR Unknown client type '"u8, request[3], "'"u8);
                return;
            }
            if (type != "normal") clients = [];
        }
        else if (request.Count > 3 && Ascii.EqualsIgnoreCase(request[2], "ID"u8))
        {
            var ids = new HashSet<long>();
            for (int i = 3; i < request.Count; i++)
            {
                if (!RespNumber.TryParse(request[i], out long id))
                {
                    RespWriter.Error(output, "ERR Invalid client ID"u8);
                    return;
                }
                ids.Add(id);
            }
            clients = clients.Where(s => ids.Contains(s.Id));
        }
        else if (request.Count != 2)
        {
            RespWriter.Error(output, KeyErrorMessages.SyntaxError);
            return;
        }
        var list = new StringBuilder();
        foreach (var client in clients.OrderBy(s => s.Id)) list.Append(InfoLine(client));
        RespWriter.Text(output, list.ToString(), session.Resp3);
    }

    /// <summary>
    /// CLIENT KILL addr:port (old form: +OK or "No such client") and CLIENT KILL filter value ... (new form: the
    /// number killed; SKIPME yes by default). A killed client's connection is closed at once; the caller itself,
    /// when it matches, gets its reply first, as in Redis.
    /// </summary>
    private static void Kill(ClientSession session, Request request, ByteBuffer output)
    {
        string? addr = null, laddr = null, type = null;
        long id = 0;
        bool skipMe = true, oldForm = request.Count == 3;
        if (oldForm)
        {
            addr = Encoding.UTF8.GetString(request[2]);
            skipMe = false;
        }
        else
        {
            for (int i = 2; i < request.Count; i += 2)
            {
                var option = request[i];
                bool more = i + 1 < request.Count;
                if (more && Ascii.EqualsIgnoreCase(option, "ID"u8))
                {
                    if (!RespNumber.TryParse(request[i + 1], out id) || id < 1)
                    {
                        RespWriter.Error(output, "ERR client-id should be greater than 0"u8);
                        return;
                    }
                }
                else if (more && Ascii.EqualsIgnoreCase(option, "TYPE"u8))
                {
                    type = ClientTypeOf(request[i + 1]);
                    if (type is null)
                    {
                        RespWriter.Error(output, "ERR Unknown client type '"u8, request[i + 1], "'"u8);
                        return;
                    }
                }
                else if (more && Ascii.EqualsIgnoreCase(option, "ADDR"u8)) addr = Encoding.UTF8.GetString(request[i + 1]);
                else if (more && Ascii.EqualsIgnoreCase(option, "LADDR"u8)) laddr = Encoding.UTF8.GetString(request[i + 1]);
                else if (more && Ascii.EqualsIgnoreCase(option, "USER"u8))
                {
                    // Rampart's clients are all the default user (AUTH takes no other).
                    if (!Ascii.Equals(request[i + 1], "default"u8))
                    {
                        RespWriter.Error(output, "ERR No such user '"u8, request[i + 1], "'"u8);
                        return;
                    }
                }
                else if (more && Ascii.EqualsIgnoreCase(option, "SKIPME"u8))
                {
                    if (Ascii.EqualsIgnoreCase(request[i + 1], "yes"u8)) skipMe = true;
                    else if (Ascii.EqualsIgnoreCase(request[i + 1], "no"u8)) skipMe = false;
                    else
                    {
                        RespWriter.Error(output, KeyErrorMessages.SyntaxError);
                        return;
                    }
                }
                else
                {
                    RespWriter.Error(output, KeyErrorMessages.SyntaxError);
                    return;
                }
            }
        }

        int killed = 0;
        bool killSelf = false;
        foreach (var client in session.Pool.Sessions)
        {
            if (client.IsClosed) continue;
            if (addr is not null && client.RemoteEndPoint != addr) continue;
            if (laddr is not null && client.LocalEndPoint != laddr) continue;
            if (type is not null && type != "normal") continue;
            if (id != 0 && client.Id != id) continue;
            if (ReferenceEquals(client, session))
            {
                if (skipMe) continue;
                killSelf = true;
            }
            else client.Close();
            killed++;
        }

        if (oldForm)
        {
            if (killed == 0) RespWriter.Error(output, "ERR No such client"u8);
            else RespWriter.SimpleString(output, "OK"u8);
        }
        else RespWriter.Integer(output, killed);
        if (killSelf) session.CloseAfterReplies();
    }

    /// <summary>Redis's client type names (getClientTypeByName); every Rampart client is of type normal.</summary>
    private static string? ClientTypeOf(ReadOnlySpan<byte> name)
    {
        if (Ascii.EqualsIgnoreCase(name, "normal"u8)) return "normal";
        if (Ascii.EqualsIgnoreCase(name, "slave"u8) || Ascii.EqualsIgnoreCase(name, "replica"u8)) return "replica";
        if (Ascii.EqualsIgnoreCase(name, "pubsub"u8)) return "pubsub";
        if (Ascii.EqualsIgnoreCase(name, "master"u8)) return "master";
        return null;
    }

    /// <summary>
    /// One CLIENT LIST / CLIENT INFO line in Redis 7.0's field order. What Rampart knows is its own: id, addresses,
    /// name, age, idle, db, the last command. The rest describes Redis's internal buffers, which a Rampart client
    /// does not have: those get the values of an idle Redis client with nothing buffered (0, events=r), and fd=-1,
    /// Redis's mark for a client without a server socket of its own.
    /// </summary>
    internal static string InfoLine(ClientSession s)
    {
        long now = s.Pool.Time.NowMs(); // the clock of LastInteraction (stamped per socket read)
        long age = (long)(s.Pool.Time.GetUtcNow().UtcDateTime - s.ConnectedAt).TotalSeconds;
        long idle = Math.Max(0, (now - s.LastInteraction) / 1000);
        string cmd = s.LastCommand?.Name ?? "NULL";
        var (inMulti, queued, sub, psub, ssub, blocked) = s.Pin?.Describe() ?? default;
        // Redis's flags: x in MULTI, P subscribed, b blocked in a blocking call, N none of these.
        string flags = (inMulti ? "x" : "") + (sub + psub + ssub > 0 ? "P" : "") + (blocked ? "b" : "");
        if (flags.Length == 0) flags = "N";
        int multi = inMulti ? queued : -1;
        return string.Create(CultureInfo.InvariantCulture,
            $"id={s.Id} addr={s.RemoteEndPoint} laddr={s.LocalEndPoint} fd=-1 name={s.Name} age={age} idle={idle} flags={flags} db={s.Pool.Config.RedisDb} sub={sub} psub={psub} ssub={ssub} multi={multi} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={cmd} user=default redir=-1 resp={(s.Resp3 ? 3 : 2)}\n");
    }
}
