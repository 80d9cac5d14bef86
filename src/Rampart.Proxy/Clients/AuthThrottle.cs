using System.Text;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Clients;

/// <summary>
/// Failed AUTH throttled per source address (<c>rampart: {auth_throttle}</c>), shared by every pool: after a failure,
/// the next AUTH (or HELLO ... AUTH) from the same address waits, the wait doubling with each consecutive failure up to
/// <c>max_delay</c>; a success forgets the address. An address with no failure never waits, so a correct AUTH from
/// another address is never delayed. A throttled address gets one attempt per wait whatever the number of its
/// connections or its pipelining: each attempt let through takes the next slot before its outcome is known.
/// The wait defers the one session's request (<see cref="ClientSession.DeferUntil"/>): no event loop, no other client
/// waits. The table is bounded (<see cref="MaxAddresses"/>): once it is full, addresses not in it share one entry, so an
/// attacker with many addresses is throttled as one rather than able to push out the entries of others.
/// Invariant: only AUTH attempts take the lock, never the request path.
/// </summary>
internal sealed class AuthThrottle(TimeProvider time)
{
    public const int MaxAddresses = 65_536;
    /// <summary>An address's failures are forgotten after this long without one (or twice max_delay, if longer).</summary>
    private const long ForgetAfterMs = 60_000;

    private sealed class Entry
    {
        public int Failures;
        public long NextAllowedMs;
        public long LastFailureMs;
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<SourceAddress, Entry> _entries = [];
    private readonly Entry _overflow = new();
    private volatile AuthThrottleConfig _config = new();

    public AuthThrottleConfig Config
    {
        get => _config;
        set => _config = value;
    }

    public TimeProvider Time => time;

    /// <summary>Addresses with failures remembered now (tests, diagnostics).</summary>
    public int Count
    {
        get { lock (_gate) return _entries.Count; }
    }

    /// <summary>AUTH, or HELLO with an AUTH option: the requests a password guess can come in.</summary>
    public static bool IsAttempt(CommandInfo command, Request request)
    {
        if (command.Name == "auth") return true;
        if (command.Name != "hello") return false;
        for (int i = 2; i < request.Count; i++)
            if (Ascii.EqualsIgnoreCase(request[i], "AUTH"u8)) return true;
        return false;
    }

    /// <summary>
    /// 0 when an AUTH from <paramref name="source"/> may be checked now (and, for a throttled address, takes the next
    /// slot); otherwise the milliseconds it must wait first.
    /// </summary>
    public long WaitBeforeAttempt(SourceAddress? source, long now)
    {
        var config = _config;
        if (!config.Enabled || source is not { } address) return 0;
        lock (_gate)
        {
            var entry = Find(address);
            if (entry is null || entry.Failures == 0) return 0;
            if (now < entry.NextAllowedMs) return entry.NextAllowedMs - now;
            entry.NextAllowedMs = now + DelayAfter(entry.Failures, config);
            return 0;
        }
    }

    /// <summary>A wrong password from <paramref name="source"/>: its consecutive failures and the wait now imposed.</summary>
    public (int Failures, long DelayMs) Failed(SourceAddress? source, long now)
    {
        var config = _config;
        if (!config.Enabled || source is not { } address) return (0, 0);
        lock (_gate)
        {
            var entry = Find(address);
            if (entry is null)
            {
                entry = _entries.Count < MaxAddresses ? new Entry() : _overflow;
                if (!ReferenceEquals(entry, _overflow)) _entries[address] = entry;
            }
            entry.Failures = Math.Min(entry.Failures + 1, 62);
            entry.LastFailureMs = now;
            long delay = DelayAfter(entry.Failures, config);
            entry.NextAllowedMs = Math.Max(entry.NextAllowedMs, now + delay);
            return (entry.Failures, delay);
        }
    }

    /// <summary>A correct password from <paramref name="source"/>: its failures are forgotten.</summary>
    public void Succeeded(SourceAddress? source)
    {
        if (source is not { } address) return;
        lock (_gate) _entries.Remove(address);
    }

    /// <summary>Forgets addresses quiet for long enough (the maintenance sweep, about once a second).</summary>
    public void Sweep(long now)
    {
        long forget = Math.Max(ForgetAfterMs, 2 * _config.MaxDelayMs);
        lock (_gate)
        {
            if (_entries.Count > 0)
            {
                foreach (var (address, entry) in _entries)
                    if (now - entry.LastFailureMs > forget) _entries.Remove(address); // removing while enumerating is allowed
            }
            if (_overflow.Failures > 0 && now - _overflow.LastFailureMs > forget) _overflow.Failures = 0;
        }
    }

    private Entry? Find(SourceAddress address)
    {
        if (_entries.TryGetValue(address, out var entry)) return entry;
        return _entries.Count >= MaxAddresses ? _overflow : null;
    }

    /// <summary>delay after the first failure, doubling with each further one, at most max_delay.</summary>
    internal static long DelayAfter(int failures, AuthThrottleConfig config)
    {
        int doublings = Math.Min(failures - 1, 30);
        long delay = config.DelayMs << doublings;
        return delay <= 0 || delay > config.MaxDelayMs ? config.MaxDelayMs : delay;
    }
}
