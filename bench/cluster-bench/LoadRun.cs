using System.Diagnostics;

namespace ClusterBench;

/// <summary>
/// N client threads, each with its own <see cref="IKvClient"/>, each writing unique keys (<c>k:CLIENT:N</c>, no hash
/// tag so they spread over every slot) with unique values, reading each back at once and every 8th time also an
/// older key of its own: a read that returns anything but the acknowledged value is a wrong reply. Errors and wrong
/// replies are counted by the category of the key's slot (a scenario tells "the failed master's slots" from the
/// others), and every acknowledged write is kept, with when it was acknowledged, for gaps and the final verification.
/// Bounded: each client stops at <see cref="MaxOpsPerClient"/> or when stopped.
/// </summary>
public sealed class LoadRun
{
    public const int MaxOpsPerClient = 2_000_000;
    public const int Categories = 2;

    /// <summary>An acknowledged write: <see cref="Sent"/> and <see cref="At"/> are Stopwatch timestamps of the request and its reply.</summary>
    public sealed record Ack(string Key, string Value, long Sent, long At, int Category);

    private sealed class ClientState
    {
        public readonly List<Ack> Acks = [];
        public readonly long[] Errors = new long[Categories];
        public readonly long[] Wrong = new long[Categories];
        public long Reads;
    }

    private readonly Func<IKvClient> _newClient;
    private readonly Func<string, int> _category;
    private readonly ClientState[] _states;
    private readonly Thread[] _threads;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _errorSamples = new();
    private volatile bool _stop;

    public LoadRun(int clients, Func<IKvClient> newClient, Func<string, int>? category = null)
    {
        _newClient = newClient;
        _category = category ?? (_ => 0);
        _states = Enumerable.Range(0, clients).Select(_ => new ClientState()).ToArray();
        _threads = Enumerable.Range(0, clients).Select(c => new Thread(() => Client(c)) { IsBackground = true, Name = $"load-{c}" }).ToArray();
    }

    public void Start()
    {
        foreach (var t in _threads) t.Start();
    }

    /// <summary>Stops every client after its current request (each request is bounded by the client's timeout).</summary>
    public void Stop()
    {
        _stop = true;
        foreach (var t in _threads)
            if (!t.Join(TimeSpan.FromSeconds(30))) throw new TimeoutException($"{t.Name} did not stop within 30 s");
    }

    private void Client(int c)
    {
        var state = _states[c];
        var random = new Random(c);
        using var client = _newClient();
        for (int n = 0; n < MaxOpsPerClient && !_stop; n++)
        {
            string key = $"k:{c}:{n}", value = $"v:{_run}:{c}:{n}";
            int category = _category(key);
            long sent = Stopwatch.GetTimestamp();
            try
            {
                client.Set(key, value);
            }
            catch (Exception e)
            {
                Error(state, category, e);
                continue;
            }
            lock (state) state.Acks.Add(new Ack(key, value, sent, Stopwatch.GetTimestamp(), category));
            Read(client, state, state.Acks[^1]);
            if (n % 8 == 0) Read(client, state, state.Acks[random.Next(state.Acks.Count)]);
        }
    }

    private void Read(IKvClient client, ClientState state, Ack ack)
    {
        try
        {
            string? got = client.Get(ack.Key);
            Interlocked.Increment(ref state.Reads);
            if (got != ack.Value)
            {
                Interlocked.Increment(ref state.Wrong[ack.Category]);
                Sample($"wrong reply: GET {ack.Key} gave {got ?? "(nil)"}, expected {ack.Value}");
            }
        }
        catch (Exception e)
        {
            Error(state, ack.Category, e);
        }
    }

    private void Error(ClientState state, int category, Exception e)
    {
        Interlocked.Increment(ref state.Errors[category]);
        Sample($"{e.GetType().Name}: {e.Message.Split('\n')[0]}" + (e.InnerException is { } inner ? $" <- {inner.GetType().Name}: {inner.Message.Split('\n')[0]}" : ""));
    }

    private void Sample(string message)
    {
        if (message.Length > 240) message = message[..240] + "...";
        if (_errorSamples.Count < 5 && !_errorSamples.Contains(message)) _errorSamples.Enqueue(message);
    }

    public IReadOnlyList<string> ErrorSamples => _errorSamples.ToArray();

    public IReadOnlyList<Ack> Acks => _states.SelectMany(s => { lock (s) return s.Acks.ToArray(); }).ToList();
    public long Writes => _states.Sum(s => { lock (s) return (long)s.Acks.Count; });
    public long Reads => _states.Sum(s => Interlocked.Read(ref s.Reads));
    public long Errors(int category) => _states.Sum(s => Interlocked.Read(ref s.Errors[category]));
    public long Wrong(int category) => _states.Sum(s => Interlocked.Read(ref s.Wrong[category]));

    /// <summary>The longest time one client went without an acknowledged write within [from, to] (timestamps; the edges count, so a client stuck throughout shows the whole window).</summary>
    public TimeSpan LongestClientGap(long from, long to) => _states
        .Select(s => { lock (s) return LongestGap(s.Acks.Where(a => a.At >= from && a.At <= to).Select(a => a.At).Prepend(from).Append(to)); })
        .DefaultIfEmpty(TimeSpan.Zero).Max();

    /// <summary>The longest time no client got any write to <paramref name="category"/>'s slots acknowledged, within [from, to].</summary>
    public TimeSpan LongestCategoryGap(int category, long from, long to) =>
        LongestGap(Acks.Where(a => a.Category == category && a.At >= from && a.At <= to).Select(a => a.At).Order().Prepend(from).Append(to));

    /// <summary>
    /// When the first write to <paramref name="category"/>'s slots sent after <paramref name="after"/> was acknowledged,
    /// if any (a write already in flight at that moment does not count: its reply may have been on its way).
    /// </summary>
    public long? FirstAckOfWriteSentAfter(int category, long after) =>
        Acks.Where(a => a.Category == category && a.Sent > after).Select(a => (long?)a.At).Min();

    private static TimeSpan LongestGap(IEnumerable<long> times)
    {
        long longest = 0, previous = -1;
        foreach (long t in times)
        {
            if (previous >= 0) longest = Math.Max(longest, t - previous);
            previous = t;
        }
        return Stopwatch.GetElapsedTime(0, longest);
    }

    /// <summary>
    /// Reads every acknowledged write back through <paramref name="client"/>: per category, how many are missing or hold
    /// another value (lost), and how many the reads failed on.
    /// </summary>
    public (long[] Lost, long[] Unreadable) Verify(IKvClient client)
    {
        long[] lost = new long[Categories], unreadable = new long[Categories];
        foreach (var batch in Acks.Chunk(5000))
        {
            IReadOnlyList<string?> values;
            try
            {
                values = client.GetMany(batch.Select(a => a.Key).ToList());
            }
            catch (Exception e)
            {
                foreach (var a in batch) unreadable[a.Category]++;
                Sample($"verify: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                continue;
            }
            for (int i = 0; i < batch.Length; i++)
                if (values[i] != batch[i].Value) lost[batch[i].Category]++;
        }
        return (lost, unreadable);
    }
}
