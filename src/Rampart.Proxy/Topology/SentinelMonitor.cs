using System.Net;
using Microsoft.Extensions.Logging;
using Rampart.Protocol;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Topology;

/// <summary>
/// Follows the masters of a Sentinel pool. For every master name it asks every Sentinel, accepts an address only
/// when a quorum names it and the node itself answers ROLE as master, and tells the pool's server for that name;
/// otherwise that server is unavailable with the reason (fail closed). It re-checks on every Sentinel event
/// (PSUBSCRIBE on each Sentinel) and every <c>check_interval</c> (<see cref="RecheckSignal"/>), on the proxy's clock.
/// </summary>
internal sealed partial class SentinelMonitor : ITopologySource
{
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromMilliseconds(1000);
    // A healthy master answers ROLE in well under a millisecond here; a frozen one accepts the TCP connection and
    // never answers. Waiting long for it would delay the re-check that a +switch-master event asks for.
    private static readonly TimeSpan RoleTimeout = TimeSpan.FromMilliseconds(300);

    private readonly PoolConfig _pool;
    private readonly SentinelConfig _sentinel;
    private readonly IReadOnlyList<ServerEndpoint> _servers;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _time;
    private readonly RecheckSignal _recheck;
    // A Sentinel's event stream reconnects after 100 ms doubling to 2 s.
    private static readonly Backoff EventsBackoff = new(100, 2_000);
    private readonly List<Task> _tasks = [];
    // Configured Sentinels, plus those learned from SENTINEL SENTINELS and +sentinel events, keyed by "host:port".
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SentinelAddress> _known = new();

    private readonly Observability.TopologyEventLog _events;

    public SentinelMonitor(PoolConfig pool, IReadOnlyList<ServerEndpoint> servers, ILogger logger, Observability.TopologyEventLog events,
        TimeProvider time)
    {
        _time = time;
        _recheck = new RecheckSignal(time);
        _events = events;
        _pool = pool;
        _sentinel = pool.Sentinel!;
        _servers = servers;
        _logger = logger;
        foreach (var server in servers) server.TopologySuspected = Trigger;
    }

    public void Start()
    {
        // At or below half, two camps of Sentinels could each reach the quorum and name different masters.
        if (_sentinel.Quorum * 2 <= _sentinel.Addresses.Count)
            LogWeakQuorum(_pool.Name, _sentinel.Quorum, _sentinel.Addresses.Count);
        // Sentinels first: the first check must already ask all of them (a check with none known would also un-confirm
        // a serving master when a reload restarts the monitor).
        foreach (var address in _sentinel.Addresses) Learn(address.Host, address.Port, configured: true);
        lock (_tasks) _tasks.Add(CheckLoopAsync(_stop.Token));
    }

    /// <summary>
    /// Adds a Sentinel to ask and to listen to. Learned ones count as votes like configured ones; the quorum stays
    /// the configured number, so Rampart warns when learning makes it a minority of the Sentinels it knows.
    /// </summary>
    private void Learn(string host, int port, bool configured)
    {
        var address = new SentinelAddress { Host = host, Port = port };
        if (!_known.TryAdd(address.ToString(), address)) return;
        if (!configured)
        {
            LogLearned(_pool.Name, address.ToString(), _known.Count);
            _events.Add(_pool.Name, "sentinel-learned", null, $"learned sentinel {address}; now asking {_known.Count} sentinels");
            if (_sentinel.Quorum * 2 <= _known.Count) LogWeakQuorum(_pool.Name, _sentinel.Quorum, _known.Count);
        }
        lock (_tasks) _tasks.Add(EventLoopAsync(Endpoint(host, port), _stop.Token));
    }

    /// <summary>Asks for a re-check now (a Sentinel event arrived).</summary>
    private void Trigger() => _recheck.Request();

    private async Task CheckLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.WhenAll(_servers.Select(s => CheckAsync(s, stop)));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogCheckFault(e, _pool.Name);
            }
            try
            {
                await _recheck.WaitAsync(TimeSpan.FromMilliseconds(NextCheckDelayMs()), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private int NextCheckDelayMs() => RecheckSignal.NextWaitMs(_sentinel.CheckIntervalMs, _servers.Any(s => s.Address is null));

    private async Task CheckAsync(ServerEndpoint server, CancellationToken stop)
    {
        string name = server.Config.Name ?? server.Config.Host;
        var answers = await Task.WhenAll(_known.Values.Select(a => AskAsync(a, name, stop)));
        var vote = MasterVoting.Count(name, answers, _sentinel.Quorum);
        var view = new SentinelView(vote.Host is null ? null : $"{vote.Host}:{vote.Port}", vote.Agree, vote.Asked, vote.Needed, _time.GetUtcNow());
        if (!vote.HasQuorum)
        {
            if (server.Publish(MasterState.None(vote.Reason!, view)))
            {
                LogNoMaster(_pool.Name, name, vote.Agree, vote.Asked, vote.Needed);
                _events.Add(_pool.Name, "no-master", name, $"no confirmed master ({vote.Agree} of {vote.Asked} sentinels agree, {vote.Needed} needed)");
            }
            return;
        }
        var candidate = Endpoint(vote.Host!, vote.Port);
        var (roleReply, noAnswer) = await RoleAsync(candidate, stop);
        string? role = roleReply?.Items[0].Text;
        if (role != "master")
        {
            string answer = role is null ? $"does not answer ROLE ({noAnswer})" : $"answers ROLE {role}";
            string reason = $"ERR rampart: no confirmed master for '{name}' ({vote.Host}:{vote.Port} is named by {vote.Agree} of {vote.Asked} sentinels but {answer})";
            if (server.Publish(MasterState.None(reason, view)))
            {
                LogNotMaster(_pool.Name, name, $"{vote.Host}:{vote.Port}", answer);
                _events.Add(_pool.Name, "not-master", name, $"{vote.Host}:{vote.Port} is named by the sentinels but {answer}");
            }
            return;
        }
        // The ROLE check can take up to its timeout (a frozen node), and the Sentinels may have moved on meanwhile: a
        // node that was frozen through a failover answers "master" the moment it wakes. So the vote is taken again,
        // and only a master named both before and after its own ROLE answer is confirmed.
        var again = MasterVoting.Count(name, await Task.WhenAll(_known.Values.Select(a => AskAsync(a, name, stop))), _sentinel.Quorum);
        if (!again.HasQuorum || again.Host != vote.Host || again.Port != vote.Port)
        {
            server.Publish(server.Master with { Vote = view }); // the same master (or none) as before, with this vote
            Trigger(); // look again at once with fresh answers
            return;
        }
        if (server.Publish(MasterState.Confirmed(candidate, view, ReplicasFrom(roleReply!, answers))))
        {
            LogConfirmed(_pool.Name, name, $"{vote.Host}:{vote.Port}", vote.Agree, vote.Asked);
            _events.Add(_pool.Name, "master-confirmed", name, $"master confirmed at {vote.Host}:{vote.Port} ({vote.Agree} of {vote.Asked} sentinels agree, ROLE master)");
        }
    }

    /// <summary>
    /// TLS to the sentinels (<c>sentinel: {tls: true}</c>): with the pool's server_tls CA and client certificate, or the
    /// system's CAs when the pool has no server_tls; null when the sentinels are plain.
    /// </summary>
    private Security.ServerTlsContext? SentinelTls =>
        _sentinel.Tls ? Security.ServerTlsContext.For(_pool.ServerTls ?? SystemTrust) : null;

    private static readonly ServerTlsConfig SystemTrust = new();

    private async Task<SentinelAnswer> AskAsync(SentinelAddress sentinel, string masterName, CancellationToken stop)
    {
        string label = $"{sentinel.Host}:{sentinel.Port}";
        try
        {
            using var connection = await ControlConnection.ConnectAsync(Endpoint(sentinel.Host, sentinel.Port), _sentinel.Password, QueryTimeout, _time, stop, tls: SentinelTls);
            // The Sentinel's own id: one Sentinel reached under two addresses must still count once.
            var myId = await connection.CallAsync(stop, "SENTINEL", "MYID");
            if (!myId.IsError && myId.Text is { } id) label = id;
            var address = await connection.CallAsync(stop, "SENTINEL", "get-master-addr-by-name", masterName);
            if (address.IsError || address.IsNull || address.Items.Count != 2)
                return new SentinelAnswer(label, null, 0, 0, address.IsError ? address.Text : "does not know this master");
            var master = await connection.CallAsync(stop, "SENTINEL", "MASTER", masterName);
            long epoch = 0;
            if (!master.IsError && master.AsFieldMap().TryGetValue("config-epoch", out var text)) long.TryParse(text, out epoch);
            var replicas = await connection.CallAsync(stop, "SENTINEL", "REPLICAS", masterName);
            var knownReplicas = replicas.IsError ? [] : replicas.Items.Select(r => KnownReplica(r.AsFieldMap())).ToArray();
            var others = await connection.CallAsync(stop, "SENTINEL", "SENTINELS", masterName);
            foreach (var other in others.Items)
            {
                var fields = other.AsFieldMap();
                if (fields.TryGetValue("ip", out var ip) && fields.TryGetValue("port", out var port) && int.TryParse(port, out int p))
                    Learn(ip, p, configured: false);
            }
            return new SentinelAnswer(label, address.Items[0].Text, int.Parse(address.Items[1].Text!), epoch, null) { Replicas = knownReplicas };
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or FormatException
                                   or Rampart.Protocol.RespProtocolException)
        {
            if (stop.IsCancellationRequested) throw;
            return new SentinelAnswer(label, null, 0, 0, e.Message);
        }
    }

    /// <summary>The node's own ROLE reply, or null when it cannot be asked.</summary>
    /// <summary>The node's ROLE reply, or null and why there is none, in words for the operator ("connection refused").</summary>
    private async Task<(RespValue? Reply, string? NoAnswer)> RoleAsync(EndPoint node, CancellationToken stop)
    {
        try
        {
            using var connection = await ControlConnection.ConnectAsync(node, _pool.RedisAuth, RoleTimeout, _time, stop,
                tls: Security.ServerTlsContext.For(_pool.ServerTls));
            var role = await connection.CallAsync(stop, "ROLE");
            if (role.IsError) return (null, role.Text);
            return role.Items.Count > 0 ? (role, null) : (null, "an empty reply");
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException
                                   or Rampart.Protocol.RespProtocolException)
        {
            if (stop.IsCancellationRequested) throw;
            return (null, ControlConnection.Describe(e, RoleTimeout));
        }
    }

    /// <summary>Listens to one Sentinel's events; any of them (switch-master, sdown, odown, ...) triggers a re-check.</summary>
    private async Task EventLoopAsync(EndPoint sentinel, CancellationToken stop)
    {
        int failures = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var connection = await ControlConnection.ConnectAsync(sentinel, _sentinel.Password, QueryTimeout, _time, stop, tls: SentinelTls);
                await connection.SendAsync(stop, "PSUBSCRIBE", "*");
                failures = 0;
                while (!stop.IsCancellationRequested)
                {
                    var message = await connection.ReadAsync(Timeout.InfiniteTimeSpan, stop);
                    if (message.Items.Count == 4 && message.Items[0].Text == "pmessage")
                    {
                        string channel = message.Items[2].Text ?? "", payload = message.Items[3].Text ?? "";
                        LogEvent(_pool.Name, sentinel.ToString() ?? "?", channel, payload);
                        OnSentinelEvent(channel, payload);
                        Trigger();
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException
                                       or Rampart.Protocol.RespProtocolException)
            {
                LogEventsLost(_pool.Name, sentinel.ToString() ?? "?", e.Message, EventsBackoff.DelayMs(failures + 1));
            }
            try { await Task.Delay(TimeSpan.FromMilliseconds(EventsBackoff.DelayMs(++failures)), _time, stop); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>
    /// The master's replicas as it reports them in ROLE (["master", offset, [[ip, port, offset], ...]]): connected
    /// replicas and how many bytes each is behind; plus how many replicas the Sentinels know, connected or not.
    /// </summary>
    private static ReplicaSet ReplicasFrom(RespValue role, SentinelAnswer[] answers)
    {
        long masterOffset = role.Items.Count > 1 ? role.Items[1].Integer : 0;
        var connected = new List<ReplicaInfo>();
        if (role.Items.Count > 2)
        {
            foreach (var replica in role.Items[2].Items)
            {
                if (replica.Items.Count < 3) continue;
                long.TryParse(replica.Items[2].Text, out long offset);
                connected.Add(new ReplicaInfo($"{replica.Items[0].Text}:{replica.Items[1].Text}", Math.Max(0, masterOffset - offset)));
            }
        }
        int known = answers.Length == 0 ? 0 : answers.Max(a => a.KnownReplicas);
        // Known to a Sentinel but not listed by the master: shown with the reason the Sentinel that says most gives.
        var listed = connected.Select(c => c.Address).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var missing = answers.SelectMany(a => a.Replicas).Where(r => !listed.Contains(r.Address)).GroupBy(r => r.Address)
            .Select(g => (g.Key, g.Select(r => r.Problem).FirstOrDefault(p => p is not null) ?? "not connected to the master (it does not list it in ROLE)"))
            .OrderBy(r => r.Key, StringComparer.Ordinal).ToArray();
        return new ReplicaSet(connected, Math.Max(known, connected.Count)) { NotConnected = missing };
    }

    /// <summary>A replica as SENTINEL REPLICAS describes it: "ip:port", and what is wrong with it in the Sentinel's words.</summary>
    internal static (string Address, string? Problem) KnownReplica(Dictionary<string, string> fields)
    {
        string address = $"{fields.GetValueOrDefault("ip")}:{fields.GetValueOrDefault("port")}";
        string flags = fields.GetValueOrDefault("flags") ?? "";
        string? problem = flags.Contains("s_down") ? $"down for the sentinels (flags {flags}; {fields.GetValueOrDefault("last-ok-ping-reply")} ms since its last good ping)"
            : flags.Contains("disconnected") ? $"the sentinels cannot connect to it (flags {flags})"
            : fields.GetValueOrDefault("master-link-status") is { } link && link != "ok" ? $"its link to the master is {link} (for {fields.GetValueOrDefault("master-link-down-time")} ms)"
            : null;
        return (address, problem);
    }

    /// <summary>
    /// The write fence. Sentinel announces a failover before it promotes a replica; from the first such event, the
    /// shard's traffic is held (ServerEndpoint.BeginHold) so nothing more reaches the master being replaced, where
    /// acknowledged writes would be wiped when it is demoted. The hold ends when the new master is confirmed, when the
    /// failover is aborted, or after ServerEndpoint.HoldLimitMs.
    /// </summary>
    private void OnSentinelEvent(string channel, string payload)
    {
        bool starts = channel is "+try-failover" or "+elected-leader" or "+failover-state-select-slave" or "+selected-slave"
            or "+failover-state-send-slaveof-noone" or "+failover-state-wait-promotion" or "+promoted-slave";
        bool aborts = channel.StartsWith("-failover-abort", StringComparison.Ordinal);
        if (channel == "+sentinel")
        {
            // "sentinel <runid> <ip> <port> @ <master> <ip> <port>"
            var words = payload.Split(' ');
            if (words.Length >= 4 && words[0] == "sentinel" && int.TryParse(words[3], out int port)) Learn(words[2], port, configured: false);
            return;
        }
        if (!starts && !aborts) return;
        string? master = MasterNameOf(payload);
        foreach (var server in _servers)
        {
            if ((server.Config.Name ?? server.Config.Host) != master) continue;
            if (starts && server.BeginHold())
            {
                LogHold(_pool.Name, master, channel, ServerEndpoint.HoldLimitMs);
                _events.Add(_pool.Name, "failover-hold", master, $"failover under way ({channel}); traffic held for up to {ServerEndpoint.HoldLimitMs} ms");
            }
            if (aborts && server.EndHold())
            {
                LogHoldAborted(_pool.Name, master, channel);
                _events.Add(_pool.Name, "failover-aborted", master, $"failover aborted ({channel}); traffic released");
            }
        }
    }

    /// <summary>
    /// The master name in a Sentinel event: "master NAME ip port ..." for master events, or the word after '@' in
    /// "slave ip:port ip port @ NAME ip port" for replica events.
    /// </summary>
    internal static string? MasterNameOf(string payload)
    {
        var words = payload.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int at = Array.IndexOf(words, "@");
        if (at >= 0) return at + 1 < words.Length ? words[at + 1] : null;
        return words.Length >= 2 && words[0] == "master" ? words[1] : null;
    }

    private static EndPoint Endpoint(string host, int port) =>
        IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        Task[] tasks;
        lock (_tasks) tasks = [.. _tasks];
        try { await Task.WhenAll(tasks); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: master '{Master}' confirmed at {Address} ({Agree} of {Asked} sentinels agree, ROLE master)")]
    private partial void LogConfirmed(string pool, string master, string address, int agree, int asked);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: no confirmed master for '{Master}' ({Agree} of {Asked} sentinels agree, {Needed} needed); its commands fail until one is confirmed")]
    private partial void LogNoMaster(string pool, string master, int agree, int asked, int needed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: '{Master}' at {Address} is named by the sentinels but {RoleAnswer}; not routing to it")]
    private partial void LogNotMaster(string pool, string master, string address, string roleAnswer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: failover of '{Master}' under way ({Event}); holding its traffic for up to {LimitMs} ms until the new master is confirmed")]
    private partial void LogHold(string pool, string master, string @event, int limitMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: failover of '{Master}' aborted ({Event}); releasing its traffic")]
    private partial void LogHoldAborted(string pool, string master, string @event);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pool {Pool}: sentinel {Sentinel} event {Channel} {Payload}")]
    private partial void LogEvent(string pool, string sentinel, string channel, string payload);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: lost the event stream of sentinel {Sentinel} ({Reason}); reconnecting in {BackoffMs} ms")]
    private partial void LogEventsLost(string pool, string sentinel, string reason, int backoffMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: quorum {Quorum} of {Count} sentinels is not a majority: two groups of sentinels could each confirm a different master (the higher config epoch wins)")]
    private partial void LogWeakQuorum(string pool, int quorum, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: learned sentinel {Sentinel}; now asking {Count} sentinels")]
    private partial void LogLearned(string pool, string sentinel, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pool {Pool}: sentinel check failed")]
    private partial void LogCheckFault(Exception exception, string pool);
}
