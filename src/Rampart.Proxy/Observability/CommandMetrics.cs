using System.Runtime.CompilerServices;
using Rampart.Protocol.Commands;

namespace Rampart.Proxy.Observability;

/// <summary>
/// Per-command counters of one backend server: a latency histogram (fixed buckets, <see cref="LatencyBuckets"/>),
/// the summed latency and the errors, for every command sent to it. Recording is two or three interlocked adds on a
/// row of its own per command, with no lock and no allocation (a row is created once, the first time its command is
/// seen). The request count is the sum of the buckets, so it is not counted twice. Exporters read the rows at scrape
/// time (<see cref="Snapshot"/>); a read racing a record may see one of its adds and not the other, never a torn value.
/// </summary>
internal sealed class CommandMetrics
{
    private const int SumSlot = LatencyBuckets.Count;
    private const int ErrorSlot = SumSlot + 1;
    // 27 slots used, 32 allocated: a row is four whole cache lines, so two commands never share one.
    private const int RowLength = 32;

    private readonly long[]?[] _rows = new long[]?[CommandTable.Count];

    /// <summary>Counts one request of command <paramref name="commandId"/> that took <paramref name="elapsedTicks"/> (Stopwatch ticks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(int commandId, long elapsedTicks, bool error)
    {
        var row = _rows[commandId] ?? CreateRow(commandId);
        long nanoseconds = LatencyBuckets.ToNanoseconds(elapsedTicks);
        Interlocked.Increment(ref row[LatencyBuckets.IndexOf(nanoseconds)]);
        Interlocked.Add(ref row[SumSlot], nanoseconds);
        if (error) Interlocked.Increment(ref row[ErrorSlot]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long[] CreateRow(int commandId)
    {
        var row = new long[RowLength];
        return Interlocked.CompareExchange(ref _rows[commandId], row, null) ?? row;
    }

    /// <summary>The counters of every command seen so far (allocates: for exporters and the dashboard only).</summary>
    public List<CommandCounters> Snapshot()
    {
        var result = new List<CommandCounters>();
        for (int id = 0; id < _rows.Length; id++)
        {
            var row = Volatile.Read(ref _rows[id]);
            if (row is null) continue;
            var buckets = new long[LatencyBuckets.Count];
            long count = 0;
            for (int b = 0; b < buckets.Length; b++)
            {
                buckets[b] = Volatile.Read(ref row[b]);
                count += buckets[b];
            }
            result.Add(new CommandCounters(CommandTable.ForId(id).Name, count, Volatile.Read(ref row[ErrorSlot]),
                Volatile.Read(ref row[SumSlot]) / 1e9, buckets));
        }
        return result;
    }
}

/// <summary>One command's counters at one backend, read at one moment: requests, errors, total seconds, histogram.</summary>
public sealed record CommandCounters(string Command, long Requests, long Errors, double Seconds, long[] Buckets);
