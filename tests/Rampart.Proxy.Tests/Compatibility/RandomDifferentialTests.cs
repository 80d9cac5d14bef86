using System.Diagnostics;
using Xunit.Abstractions;

namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// Random command sequences (<see cref="RandomCommandGrammar"/>) through each kind of pool, in RESP2 and RESP3,
/// against a redis-server fed the same sequence: every reply must be Redis's byte for byte. A new seed each run,
/// printed; set <c>RAMPART_DIFF_SEED</c> to replay one. Each row stops after 20,000 commands or 2 seconds.
/// </summary>
public sealed class RandomDifferentialTests(DifferentialFixture fixture, ITestOutputHelper output) : IClassFixture<DifferentialFixture>
{
    public const string SeedVariable = "RAMPART_DIFF_SEED";
    private const int MaxCommands = 20_000;
    private static readonly TimeSpan MaxTime = TimeSpan.FromSeconds(2);
    private const int Batch = 100;

    public static TheoryData<PoolKind, int> PoolsAndProtocols() => CorpusDifferentialTests.PoolsAndProtocols();

    [Theory]
    [MemberData(nameof(PoolsAndProtocols))]
    public void RandomSequence_RepliesAreRedisByteForByte(PoolKind kind, int protocol)
    {
        int seed = Environment.GetEnvironmentVariable(SeedVariable) is { } s && int.TryParse(s, out int fixedSeed)
            ? fixedSeed
            : Random.Shared.Next();
        output.WriteLine($"seed {seed} (replay with {SeedVariable}={seed})");
        fixture.Reset(kind);
        var grammar = new RandomCommandGrammar(seed);
        var differences = new List<Difference>();
        using var run = DifferentialRun.Open(fixture.Direct.Port, fixture.RampartPort(kind), protocol == 3, differences);
        var clock = Stopwatch.StartNew();
        int sent = 0;
        while (sent < MaxCommands && clock.Elapsed < MaxTime && differences.Count == 0)
        {
            var batch = new List<CorpusCommand>();
            while (batch.Count < Batch) batch.AddRange(grammar.Next()); // a MULTI block is never split across batches
            run.Run(batch, differences);
            sent += batch.Count;
        }
        output.WriteLine($"{kind} pool, RESP{protocol}: {sent} commands in {clock.ElapsedMilliseconds} ms, {differences.Count} differing replies");
        foreach (var d in differences.Take(10)) output.WriteLine(d.ToString());
        Assert.True(differences.Count == 0, $"seed {seed}: {differences.Count} replies differ from Redis's; the first:\n{differences.FirstOrDefault()}");
        Assert.True(sent >= Batch, "not even one batch ran"); // the comparison must have compared something
    }
}
