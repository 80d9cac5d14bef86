using System.Diagnostics;
using System.Text;
using Rampart.Proxy.Security;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Security;

/// <summary>
/// The same ACL lines loaded into a real redis-server 7.0.15 (ACL SETUSER) and parsed by Rampart must give the same
/// decision (allowed, or denied for the command, a key or a channel) for 10,000 random requests from a fixed seed:
/// Redis answers with ACL DRYRUN, pipelined; Rampart with <see cref="AclCheck"/>.
/// </summary>
public sealed class AclDifferentialTests
{
    private static readonly string[] Lines =
    [
        "user alice on >alice-secret ~app:* &news.* +@read +@write -@dangerous",
        @"user bob on nopass %R~r:* %W~w:* ~both:* +@all -flushall -config|set &chan.[ab]* &lit\*",
        "user carol on nopass ~* &* -@all +get +set +mget +publish +subscribe +psubscribe +eval +config|get +info +client",
        @"user dave on nopass ~k?y* ~[a-c]x* ~*\?q ~[^a-z]* allchannels +@all -@admin -keys",
        "user erin on nopass resetkeys %RW~x* %R~app:* &* +@slow +@pubsub -@dangerous +client|kill",
        "user frank on nopass allkeys resetchannels &s:* &news.? +@string +@list +@hash +ssubscribe +spublish +subscribe -lmove",
        "user gina on nopass ~* &news.* &lit* +@all -@write +set -get -config +config|get -client|kill",
        "user hank on nopass %W~w* %R~r* %RW~b* &* +@keyspace +@string +@list +@set +@bitmap +@scripting +@sortedset +@geo",
    ];

    private static readonly string[] Keys =
        ["app:1", "app:", "r:1", "w:1", "both:x", "key", "kay", "ky", "ax1", "dx", "z?q", "zq", "x9", "", "[x]", "9a", "b1", "rw", "w*"];

    private static readonly string[] Channels =
        ["news.a", "news.*", "news.ab", "chan.a1", "chan.c", "chan.b", "lit*", "litx", "s:1", "s:", "other", "news.[ab]", "news.?"];

    [Fact]
    public void TenThousandRandomRequests_GetTheSameDecisionFromRedisAndRampart()
    {
        var clock = Stopwatch.StartNew();
        var users = Lines.Select(AclRequests.User).ToArray();
        var random = new Random(20260518);
        var cases = new List<(AclUser User, string[] Args)>(10_000);
        for (int i = 0; i < 10_000; i++) cases.Add((users[random.Next(users.Length)], RandomRequest(random)));

        using var redis = RedisServerProcess.Start();
        using var client = RespTestClient.ConnectTcp(redis.Port);
        foreach (var line in Lines)
        {
            var words = line.Split(' ');
            Assert.Equal("OK", client.CallText(["ACL", "SETUSER", .. words[1..]]));
        }

        var mismatches = new List<string>();
        const int Batch = 500;
        for (int start = 0; start < cases.Count; start += Batch)
        {
            int end = Math.Min(start + Batch, cases.Count);
            var pipeline = new MemoryStream();
            for (int i = start; i < end; i++)
                pipeline.Write(RespTestClient.Command(["ACL", "DRYRUN", cases[i].User.Name, .. cases[i].Args]));
            client.Send(pipeline.ToArray());
            for (int i = start; i < end; i++)
            {
                var redisSays = RedisDecision(client.ReadReply());
                var rampartSays = AclRequests.Check(cases[i].User, cases[i].Args)?.ToString() ?? "invalid request";
                if (redisSays != rampartSays)
                    mismatches.Add($"#{i} {cases[i].User.Name}: {string.Join(' ', cases[i].Args)} => redis {redisSays}, rampart {rampartSays}");
            }
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {cases.Count} differ:\n" + string.Join('\n', mismatches.Take(40)));
        // The run must have exercised every kind of decision, or it proves little.
        var decisions = cases.Select(c => AclRequests.Check(c.User, c.Args)).ToLookup(d => d);
        foreach (var kind in Enum.GetValues<AclDenial>())
            Assert.True(decisions[kind].Count() > 200, $"only {decisions[kind].Count()} cases decided {kind}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    /// <summary>ACL DRYRUN: OK, or "This user has no permissions to run the 'x' command" / "to access the 'k' key/channel".</summary>
    private static string RedisDecision(object? reply)
    {
        string text = RespTestClient.AsText(reply) switch
        {
            string s => s,
            RespError e => "error " + e.Message,
            var other => "unexpected " + other,
        };
        if (text == "OK") return nameof(AclDenial.None);
        if (text.StartsWith("This user has no permissions to run the", StringComparison.Ordinal)) return nameof(AclDenial.Command);
        if (text.StartsWith("This user has no permissions to access the", StringComparison.Ordinal))
            return text.EndsWith(" key", StringComparison.Ordinal) ? nameof(AclDenial.Key)
                : text.EndsWith(" channel", StringComparison.Ordinal) ? nameof(AclDenial.Channel) : text;
        return text;
    }

    private static string[] RandomRequest(Random r)
    {
        string K() => Keys[r.Next(Keys.Length)];
        string C() => Channels[r.Next(Channels.Length)];
        string[] Many(Func<string> one, int min) => Enumerable.Range(0, min + r.Next(3)).Select(_ => one()).ToArray();
        switch (r.Next(34))
        {
            case 0: return ["GET", K()];
            case 1: return ["SET", K(), "v"];
            case 2: return ["SET", K(), "v", r.Next(2) == 0 ? "GET" : "get"];
            case 3: return ["MGET", .. Many(K, 1)];
            case 4: return ["DEL", .. Many(K, 1)];
            case 5: return ["EXISTS", .. Many(K, 1)];
            case 6: return ["HSET", K(), "f", "v"];
            case 7: return ["LPUSH", K(), "v"];
            case 8: return ["LMOVE", K(), K(), "LEFT", "RIGHT"];
            case 9: return ["COPY", K(), K()];
            case 10: return ["RENAME", K(), K()];
            case 11: return ["SINTERSTORE", K(), .. Many(K, 1)];
            case 12: return ["BITFIELD", K(), "GET", "u8", "0"];
            case 13: return ["BITFIELD", K(), "SET", "u8", "0", "1"];
            case 14: return ["PUBLISH", C(), "m"];
            case 15: return ["SPUBLISH", C(), "m"];
            case 16: return ["SUBSCRIBE", .. Many(C, 1)];
            case 17: return ["SSUBSCRIBE", .. Many(C, 1)];
            case 18: return ["PSUBSCRIBE", .. Many(C, 1)];
            case 19:
                var keys = Many(K, 0);
                return ["EVAL", "return 1", keys.Length.ToString(), .. keys, "arg"];
            case 20: return ["CONFIG", "GET", "maxmemory"];
            case 21: return ["CONFIG", "SET", "maxmemory", "0"];
            case 22: return ["FLUSHALL"];
            case 23: return ["KEYS", "*"];
            case 24: return ["INFO"];
            case 25: return ["PING"];
            case 26: return ["CLIENT", "KILL", "ID", "1"];
            case 27: return ["CLIENT", "SETNAME", "x"];
            case 28: return ["ZUNIONSTORE", K(), "2", K(), K()];
            case 29: return ["SORT", K(), "STORE", K()];
            case 30: return ["OBJECT", "ENCODING", K()];
            case 31: return ["GEORADIUS", K(), "0", "0", "1", "m", "STORE", K()];
            case 32: return ["INCR", K()];
            default: return ["EXPIRE", K(), "10"];
        }
    }
}
