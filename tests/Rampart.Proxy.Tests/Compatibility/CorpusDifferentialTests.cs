using Xunit.Abstractions;

namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// The corpus (Compatibility/corpus/*.redis) through each kind of pool, in RESP2 and RESP3, against a redis-server fed
/// the same commands: every reply must be Redis's byte for byte, except the listed intended differences, and every
/// listed difference must still show up.
/// </summary>
public sealed class CorpusDifferentialTests(DifferentialFixture fixture, ITestOutputHelper output) : IClassFixture<DifferentialFixture>
{
    private const int DifferencesShown = 25;

    public static TheoryData<PoolKind, int> PoolsAndProtocols() => new()
    {
        { PoolKind.Single, 2 }, { PoolKind.Single, 3 },
        { PoolKind.Sharded, 2 }, { PoolKind.Sharded, 3 },
        { PoolKind.Sentinel, 2 }, { PoolKind.Sentinel, 3 },
    };

    /// <summary>The command groups the corpus must cover, one file each.</summary>
    private static readonly string[] Groups =
    [
        "strings", "lists", "hashes", "sets", "sorted-sets", "streams", "bitmaps", "hyperloglog", "geo", "scripting",
        "functions", "transactions", "pubsub", "keyspace", "wrong-type", "arity", "connection",
    ];

    [Fact]
    public void Corpus_HasTwoThousandCommands_InEveryGroup()
    {
        var files = CorpusReader.Files();
        var counts = files.ToDictionary(f => Path.GetFileNameWithoutExtension(f)[3..], f => CorpusReader.ReadFile(f).Count);
        foreach (var (group, count) in counts) output.WriteLine($"{group}: {count}");
        int total = counts.Values.Sum();
        output.WriteLine($"{files.Count} files, {total} commands");
        Assert.True(total >= 2000, $"the corpus has {total} commands, fewer than 2,000");
        foreach (string group in Groups) Assert.True(counts.GetValueOrDefault(group) >= 50, $"corpus group '{group}' is missing or has fewer than 50 commands");
    }

    [Theory]
    [MemberData(nameof(PoolsAndProtocols))]
    public void Corpus_RepliesAreRedisByteForByte(PoolKind kind, int protocol)
    {
        fixture.Reset(kind);
        var differences = new List<Difference>();
        var covered = new Dictionary<IntendedDifference, (int Commands, int Differed)>();
        int commands = 0;
        foreach (string file in CorpusReader.Files())
        {
            var corpus = CorpusReader.ReadFile(file);
            commands += corpus.Count;
            using var run = DifferentialRun.Open(fixture.Direct.Port, fixture.RampartPort(kind), protocol == 3, differences);
            run.Run(corpus, differences);
            foreach (var entry in IntendedDifferences.All.Where(e => (e.Kinds & kind) != 0))
            {
                var (c, d) = covered.GetValueOrDefault(entry);
                covered[entry] = (c + corpus.Count(x => entry.Covers(x, kind)), d);
            }
        }

        var unexplained = new List<Difference>();
        foreach (var difference in differences)
        {
            var entry = IntendedDifferences.All.FirstOrDefault(e => e.Covers(difference.Command, kind));
            if (entry is null) unexplained.Add(difference);
            else covered[entry] = covered[entry] with { Differed = covered[entry].Differed + 1 };
        }
        var stale = covered.Where(c => c.Value.Differed == 0)
            .Select(c => c.Value.Commands == 0 ? $"{c.Key}\n    (no corpus command reaches it)" : $"{c.Key}\n    ({c.Value.Commands} corpus commands, all now answered as Redis answers)")
            .ToList();

        output.WriteLine($"{kind} pool, RESP{protocol}: {commands} commands, {differences.Count} differing replies, " +
                         $"{differences.Count - unexplained.Count} of them intended, {unexplained.Count} not");
        foreach (var d in unexplained.Take(DifferencesShown)) output.WriteLine(d.ToString());
        foreach (var s in stale) output.WriteLine("intended difference no longer seen: " + s);
        Assert.True(unexplained.Count == 0 && stale.Count == 0,
            $"{unexplained.Count} replies differ from Redis's without an intended difference, {stale.Count} intended differences no longer seen " +
            "(the first ones are in the test output):\n" + string.Join("\n", unexplained.Take(5).Concat<object>(stale)));
    }
}
