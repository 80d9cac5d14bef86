using System.Collections.Concurrent;
using System.Diagnostics;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>One event a sentinel published: channel (e.g. +switch-master), payload, and when it arrived.</summary>
public sealed record SentinelEvent(int Sentinel, TimeSpan At, string Channel, string Message)
{
    public override string ToString() => $"{At.TotalMilliseconds,7:0} ms  s{Sentinel}  {Channel,-22} {Message}";
}

/// <summary>
/// PSUBSCRIBE * on one sentinel, recording every event with its arrival time on a stopwatch the test can re-zero
/// (<see cref="Zero"/>, e.g. at the moment it kills the master).
/// </summary>
public sealed class SentinelEventRecorder : IDisposable
{
    private readonly RespTestClient _client;
    private readonly ConcurrentQueue<SentinelEvent> _events = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Thread _reader;
    private readonly int _sentinel;
    private long _zeroTicks;

    public SentinelEventRecorder(SentinelTopology topology, int sentinelIndex)
    {
        _sentinel = sentinelIndex;
        _client = topology.ConnectSentinel(sentinelIndex);
        if (_client.CallText("PSUBSCRIBE", "*") is not object?[] { Length: 3 } ack || ack[0] as string != "psubscribe")
            throw new InvalidOperationException("PSUBSCRIBE * was not acknowledged");
        _client.ReadTimeoutMs = Timeout.Infinite;
        _reader = new Thread(Read) { IsBackground = true, Name = $"sentinel-{sentinelIndex}-events" };
        _reader.Start();
    }

    /// <summary>Times from now on are relative to this moment (earlier events get negative times).</summary>
    public void Zero() => Interlocked.Exchange(ref _zeroTicks, _clock.Elapsed.Ticks);

    public IReadOnlyList<SentinelEvent> Events => _events.ToArray();

    /// <summary>The first event on <paramref name="channel"/>, waiting for it up to <paramref name="timeout"/>.</summary>
    public async Task<SentinelEvent?> WaitForAsync(string channel, TimeSpan timeout, Func<SentinelEvent, bool>? where = null)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var found = _events.FirstOrDefault(e => e.Channel == channel && (where is null || where(e)));
            if (found is not null || sw.Elapsed > timeout) return found;
            await Task.Delay(20);
        }
    }

    private void Read()
    {
        try
        {
            while (true)
            {
                if (_client.ReadReply() is object?[] { Length: 4 } m && m[0] is byte[] kind && kind.AsSpan().SequenceEqual("pmessage"u8))
                {
                    string channel = System.Text.Encoding.UTF8.GetString((byte[])m[2]!);
                    string message = System.Text.Encoding.UTF8.GetString((byte[])m[3]!);
                    _events.Enqueue(new SentinelEvent(_sentinel, _clock.Elapsed - TimeSpan.FromTicks(Interlocked.Read(ref _zeroTicks)), channel, message));
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidDataException) { }
    }

    /// <summary>One recorder per sentinel of <paramref name="topology"/>.</summary>
    public static SentinelEventRecorder[] OnAll(SentinelTopology topology) =>
        Enumerable.Range(0, topology.Sentinels.Count).Select(i => new SentinelEventRecorder(topology, i)).ToArray();

    public void Dispose()
    {
        _client.Dispose();
        _reader.Join(2000);
    }
}
