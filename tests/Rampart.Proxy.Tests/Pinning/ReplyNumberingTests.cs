using Rampart.Proxy.Pinning;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// A subscriber's replies are numbered in request order so that those of requests sent under CLIENT REPLY OFF/SKIP are
/// left out of the relay (ReplyOffSubscriberTests runs the same against Redis); here the numbering alone.
/// </summary>
public sealed class ReplyNumberingTests
{
    [Fact]
    public void Answer_WithNothingSilent_IsNeverSilent()
    {
        var numbering = new ReplyNumbering();
        for (int i = 0; i < 3; i++) numbering.Expect(silent: false);
        for (int i = 0; i < 3; i++) Assert.False(numbering.Answer());
    }

    [Fact]
    public void Answer_IsSilent_ExactlyForTheRepliesExpectedSilent()
    {
        var numbering = new ReplyNumbering();
        bool[] silent = [false, true, true, false, true, false];
        foreach (bool s in silent) numbering.Expect(s);
        Assert.Equal(silent, silent.Select(_ => numbering.Answer()));
    }

    [Fact]
    public void Answer_AfterExpectationsInterleaved_KeepsTheirOrder()
    {
        var numbering = new ReplyNumbering();
        numbering.Expect(silent: true);
        Assert.True(numbering.Answer());
        numbering.Expect(silent: false);
        numbering.Expect(silent: true);
        Assert.False(numbering.Answer());
        numbering.Expect(silent: false);
        Assert.True(numbering.Answer());
        Assert.False(numbering.Answer());
    }

    [Fact]
    public void Answer_BeyondWhatWasExpected_IsNotSilent_AndDoesNotShiftLaterOnes()
    {
        // A reply counted as answered that was never numbered (the count and the numbering disagree) must not make a
        // later silent reply audible or an audible one silent: numbers are absolute, not a queue position.
        var numbering = new ReplyNumbering();
        numbering.Expect(silent: false); // 1
        numbering.Expect(silent: true);  // 2
        Assert.False(numbering.Answer()); // 1
        Assert.True(numbering.Answer());  // 2
        Assert.False(numbering.Answer()); // 3: never expected
        numbering.Expect(silent: true);  // numbered 3: already passed, so it is skipped over
        numbering.Expect(silent: true);  // 4
        Assert.True(numbering.Answer());  // 4
    }
}
