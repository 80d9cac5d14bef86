using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Reload;

/// <summary>
/// Clients on their own threads, each writing a fresh key with a unique value and reading it back in one
/// pipelined round trip. The reply to GET must be that value, or nil when the key moved to another server between
/// the SET and the GET (a reload that moves keys does not migrate data; twemproxy behaves the same).
/// </summary>
internal sealed class SetGetClientLoop(int port, int count) : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly long[] _iterations = new long[count];
    private readonly List<Thread> _threads = [];
    private long _misses;

    public List<RespTestClient> Connections { get; } = [];
    public System.Collections.Concurrent.ConcurrentQueue<string> Failures { get; } = new();
    public long Misses => Interlocked.Read(ref _misses);

    public void Start()
    {
        for (int i = 0; i < count; i++)
        {
            var client = RespTestClient.ConnectTcp(port);
            client.ReadTimeoutMs = 10_000;
            Connections.Add(client);
            int id = i;
            var thread = new Thread(() => Run(id, client)) { IsBackground = true, Name = $"reload-client-{id}" };
            _threads.Add(thread);
            thread.Start();
        }
    }

    private void Run(int id, RespTestClient client)
    {
        var deadline = Stopwatch.StartNew();
        try
        {
            for (long n = 0; !_stop.IsCancellationRequested && n < 1_000_000 && deadline.Elapsed < TimeSpan.FromSeconds(90); n++)
            {
                string key = $"reload:{id}:{n}";
                string value = $"{id}:{n}:{Guid.NewGuid():N}";
                client.Send([.. RespTestClient.Command("SET", key, value), .. RespTestClient.Command("GET", key)]);
                var set = client.ReadReply();
                var get = client.ReadReply();
                if (!Equals(set, "OK")) Fail(id, n, $"SET replied {Show(set)}");
                else if (get is null) Interlocked.Increment(ref _misses);
                else if (get is not byte[] bytes || System.Text.Encoding.UTF8.GetString(bytes) != value)
                    Fail(id, n, $"GET {key} replied {Show(get)}, expected {value} or nil");
                Interlocked.Increment(ref _iterations[id]);
            }
        }
        catch (Exception e)
        {
            Fail(id, -1, $"connection failed: {e.GetType().Name}: {e.Message}");
        }
    }

    private void Fail(int id, long n, string what)
    {
        Failures.Enqueue($"client {id} iteration {n}: {what}");
        _stop.Cancel(); // the first failure is enough; stop before the log fills up
    }

    private static string Show(object? reply) => reply switch
    {
        null => "nil",
        byte[] b => System.Text.Encoding.UTF8.GetString(b),
        RespError e => "-" + e.Message,
        _ => reply.ToString() ?? "?",
    };

    /// <summary>Waits until every client has done <paramref name="more"/> more round trips (bounded: 30 s).</summary>
    public async Task WaitForProgressAsync(int more)
    {
        var targets = _iterations.Select(i => Interlocked.Read(ref i) + more).ToArray();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Enumerable.Range(0, count).Any(i => Interlocked.Read(ref _iterations[i]) < targets[i]))
        {
            if (!Failures.IsEmpty) Assert.Fail(string.Join("\n", Failures.Take(5)));
            if (DateTime.UtcNow > deadline) Assert.Fail("clients made no progress for 30 s");
            await Task.Delay(10);
        }
    }

    public async Task StopAsync()
    {
        _stop.Cancel();
        foreach (var thread in _threads) await Task.Run(() => thread.Join(TimeSpan.FromSeconds(15)));
    }

    public void Dispose()
    {
        foreach (var client in Connections) client.Dispose();
    }
}
