using Rampart.Proxy.Topology;

namespace Rampart.Proxy.Tests.Topology;

/// <summary>The fail-closed counting rule, on its own: who is master when Sentinels agree, disagree or are silent.</summary>
public sealed class MasterVotingTests
{
    private static int _next;
    private static string NextId() => $"sentinel-{Interlocked.Increment(ref _next)}";
    private static SentinelAnswer Says(string host, int port, long epoch = 0) => new(NextId(), host, port, epoch, null);
    private static SentinelAnswer Silent(string why = "connection refused") => new(NextId(), null, 0, 0, why);

    [Fact]
    public void QuorumOfTwoOfThree_NamesTheMaster()
    {
        var vote = MasterVoting.Count("mymaster", [Says("10.0.0.1", 6379), Says("10.0.0.1", 6379), Says("10.0.0.2", 6379)], quorum: 2);
        Assert.True(vote.HasQuorum);
        Assert.Equal(("10.0.0.1", 6379, 2), (vote.Host, vote.Port, vote.Agree));
    }

    [Fact]
    public void OneOfThreeAgrees_FailsClosedWithTheCounts()
    {
        var vote = MasterVoting.Count("mymaster", [Says("10.0.0.1", 6379), Silent(), Silent()], quorum: 2);
        Assert.False(vote.HasQuorum);
        Assert.Equal("ERR rampart: no confirmed master for 'mymaster' (1 of 3 sentinels agree, 2 needed)", vote.Reason);
    }

    [Fact]
    public void SplitVoteBelowQuorum_FailsClosed()
    {
        var vote = MasterVoting.Count("m", [Says("a", 1), Says("b", 1), Says("c", 1)], quorum: 2);
        Assert.False(vote.HasQuorum);
        Assert.Contains("(1 of 3 sentinels agree, 2 needed)", vote.Reason);
    }

    [Fact]
    public void TwoCampsEachWithALowQuorum_HighestConfigEpochWins()
    {
        // quorum 2 of 4 lets two camps both reach it during a failover; the newer epoch is the newer truth.
        var vote = MasterVoting.Count("m", [Says("old", 1, epoch: 3), Says("old", 1, epoch: 3), Says("new", 1, epoch: 4), Says("new", 1, epoch: 4)], quorum: 2);
        Assert.Equal("new", vote.Host);
    }

    [Fact]
    public void TwoCampsAtTheSameEpoch_DecideNothing()
    {
        var vote = MasterVoting.Count("m", [Says("a", 1, 5), Says("a", 1, 5), Says("b", 1, 5), Says("b", 1, 5)], quorum: 2);
        Assert.False(vote.HasQuorum);
        Assert.Contains("same epoch", vote.Reason);
    }

    [Fact]
    public void NoSentinelAnswers_FailsClosed()
    {
        var vote = MasterVoting.Count("m", [Silent(), Silent(), Silent()], quorum: 2);
        Assert.False(vote.HasQuorum);
        Assert.Contains("(0 of 3 sentinels agree, 2 needed)", vote.Reason);
    }
}

public sealed class MasterVotingIdentityTests
{
    [Fact]
    public void OneSentinelReachedUnderTwoAddresses_VotesOnce()
    {
        // "s1" was configured as localhost:26379 and learned as 127.0.0.1:26379: still one vote, so no quorum of 2.
        SentinelAnswer[] answers = [new("s1", "10.0.0.1", 6379, 1, null), new("s1", "10.0.0.1", 6379, 1, null), new("s2", null, 0, 0, "down")];
        var vote = MasterVoting.Count("m", answers, quorum: 2);
        Assert.False(vote.HasQuorum);
        Assert.Contains("(1 of 2 sentinels agree, 2 needed)", vote.Reason);
    }
}
