using System.Text;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Protocol.Tests.Commands;

/// <summary>
/// Checks the generated command table and the key enumeration against a real redis-server: the table must not
/// drift from the server it was generated from, and keys must be the ones COMMAND GETKEYS names.
/// </summary>
public class CommandTableServerTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private delegate T RequestFunc<T>(Request request);

    private static T With<T>(string[] args, RequestFunc<T> func)
    {
        var sb = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Complete, reader.TryRead(bytes, out _));
        return func(new Request(reader, bytes));
    }

    private static Dictionary<string, object?[]> Flatten(object?[] commands)
    {
        var all = new Dictionary<string, object?[]>();
        foreach (object?[] c in commands.Cast<object?[]>())
        {
            all.Add((string)c[0]!, c);
            foreach (object?[] sub in ((object?[])c[9]!).Cast<object?[]>()) all.Add((string)sub[0]!, sub);
        }
        return all;
    }

    private static IEnumerable<CommandInfo> TableEntries() =>
        CommandTable.All.Concat(CommandTable.All.SelectMany(c => c.Subcommands));

    [Fact]
    public void Table_MatchesTheServersCommandReply()
    {
        var server = Flatten((object?[])redis.Client.CallText("COMMAND")!);
        var table = TableEntries().ToDictionary(c => c.Name);
        Assert.Equal(server.Keys.Order(), table.Keys.Order());
        foreach (var (name, reply) in server)
        {
            var info = table[name];
            var flags = ((object?[])reply[2]!).Cast<string>().ToHashSet();
            Assert.True((long)reply[1]! == info.Arity, $"{name} arity");
            Assert.True((long)reply[3]! == info.FirstKey && (long)reply[4]! == info.LastKey && (long)reply[5]! == info.Step,
                $"{name} first/last/step");
            Assert.True(flags.Contains("write") == info.IsWrite, $"{name} write flag");
            Assert.True(flags.Contains("readonly") == info.IsReadOnly, $"{name} readonly flag");
            Assert.True(flags.Contains("admin") == info.Flags.HasFlag(CommandFlags.Admin), $"{name} admin flag");
            Assert.True(flags.Contains("pubsub") == info.Flags.HasFlag(CommandFlags.PubSub), $"{name} pubsub flag");
            Assert.True(flags.Contains("blocking") == info.Flags.HasFlag(CommandFlags.Blocking), $"{name} blocking flag");
            var categories = ((object?[])reply[6]!).Cast<string>().Order();
            Assert.True(categories.SequenceEqual(CategoryNames(info.Categories).Order()), $"{name} ACL categories");
            bool movable = flags.Contains("movablekeys");
            Assert.True(movable == info.Flags.HasFlag(CommandFlags.MovableKeys), $"{name} movablekeys flag");
            // A movablekeys command must have a deliberate kind (SORT_RO's one routable key is its legacy range).
            if (movable && name != "sort_ro")
                Assert.True(info.Keys is not KeySpecKind.Range and not KeySpecKind.None, $"{name} needs a KeySpecKind");
            else
                Assert.Equal(info.FirstKey > 0 ? KeySpecKind.Range : KeySpecKind.None, info.Keys);
        }
    }

    private static IEnumerable<string> CategoryNames(AclCategories categories) =>
        Enum.GetValues<AclCategories>().Where(c => c != AclCategories.None && categories.HasFlag(c))
            .Select(c => "@" + c.ToString().ToLowerInvariant());

    [Fact]
    public void Table_WasGeneratedFromThisServersVersion()
    {
        var info = (string)redis.Client.CallText("INFO", "server")!;
        Assert.Contains($"redis_version:{CommandTable.RedisVersion}\r\n", info);
    }

    public static TheoryData<string[]> KeyCases() => new()
    {
        new[] { "GET", "k" },
        new[] { "SET", "k", "v", "EX", "10" },
        new[] { "MSET", "a", "1", "b", "2", "c", "3" },
        new[] { "MGET", "a", "b", "c" },
        new[] { "DEL", "a", "b" },
        new[] { "RENAME", "a", "b" },
        new[] { "LMOVE", "a", "b", "LEFT", "RIGHT" },
        new[] { "BLPOP", "a", "b", "0" },
        new[] { "OBJECT", "ENCODING", "k" },
        new[] { "MEMORY", "USAGE", "k" },
        new[] { "XINFO", "STREAM", "k" },
        new[] { "XGROUP", "CREATE", "k", "g", "$" },
        new[] { "EVAL", "return 1", "2", "a", "b", "arg" },
        new[] { "EVALSHA", "abc", "1", "a" },
        new[] { "EVAL_RO", "return 1", "1", "a", "b" },
        new[] { "FCALL", "f", "3", "a", "b", "c" },
        new[] { "FCALL_RO", "f", "1", "a" },
        new[] { "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2" },
        new[] { "ZINTERSTORE", "d", "1", "a" },
        new[] { "ZDIFFSTORE", "d", "3", "a", "b", "c" },
        new[] { "ZUNION", "2", "a", "b", "WITHSCORES" },
        new[] { "ZINTER", "1", "a" },
        new[] { "ZDIFF", "2", "a", "b" },
        new[] { "SINTERCARD", "2", "a", "b", "LIMIT", "1" },
        new[] { "ZINTERCARD", "2", "a", "b" },
        new[] { "LMPOP", "2", "a", "b", "LEFT", "COUNT", "2" },
        new[] { "ZMPOP", "1", "a", "MIN" },
        new[] { "BLMPOP", "0", "2", "a", "b", "LEFT" },
        new[] { "BZMPOP", "1.5", "1", "a", "MAX" },
        new[] { "XREAD", "STREAMS", "a", "0" },
        new[] { "XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "a", "b", "0", "$" },
        new[] { "XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">" },
        new[] { "XREADGROUP", "GROUP", "g", "STREAMS", "STREAMS", "a", ">" },
        new[] { "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "NOACK", "STREAMS", "a", "b", ">", ">" },
        new[] { "SORT", "k" },
        new[] { "SORT", "k", "STORE", "d" },
        new[] { "SORT", "k", "BY", "w_*", "LIMIT", "0", "1", "GET", "#", "ALPHA", "STORE", "d" },
        new[] { "SORT", "k", "STORE", "d1", "STORE", "d2" },
        new[] { "SORT", "k", "GET", "store", "STORE", "d" },
        new[] { "SORT_RO", "k", "BY", "w_*", "GET", "#" },
        new[] { "MIGRATE", "h", "1", "k", "0", "10" },
        new[] { "MIGRATE", "h", "1", "k", "0", "10", "COPY", "REPLACE" },
        new[] { "MIGRATE", "h", "1", "", "0", "10", "KEYS", "a", "b" },
        new[] { "MIGRATE", "h", "1", "", "0", "10", "COPY", "AUTH", "keys", "KEYS", "a" },
        new[] { "MIGRATE", "h", "1", "", "0", "10", "AUTH2", "u", "keys", "KEYS", "a", "b" },
        new[] { "GEORADIUS", "k", "0", "0", "1", "m" },
        new[] { "GEORADIUS", "k", "0", "0", "1", "m", "STORE", "s" },
        new[] { "GEORADIUS", "k", "0", "0", "1", "m", "COUNT", "5", "STOREDIST", "d" },
        new[] { "GEORADIUS", "k", "0", "0", "1", "m", "STORE", "s", "STOREDIST", "d" },
        new[] { "GEORADIUSBYMEMBER", "k", "m", "1", "km", "STORE", "s" },
        new[] { "GEORADIUS_RO", "k", "0", "0", "1", "m" },
        new[] { "GEOSEARCHSTORE", "d", "k", "FROMMEMBER", "m", "BYRADIUS", "1", "m" },
    };

    [Theory]
    [MemberData(nameof(KeyCases))]
    public void GetKeys_MatchesCommandGetkeys(string[] args)
    {
        var expected = ((object?[])redis.Client.CallText(["COMMAND", "GETKEYS", .. args])!).Cast<string>().ToArray();
        var actual = With(args, r =>
        {
            var keys = CommandTable.Resolve(r)!.GetKeys(r);
            Assert.True(keys.IsValid, keys.ErrorMessage);
            var names = new List<string>();
            foreach (int i in keys) names.Add(args[i]);
            return names.ToArray();
        });
        Assert.Equal(expected, actual);
    }

    public static TheoryData<string[]> MalformedCases() => new()
    {
        new[] { "EVAL", "return 1", "x", "a" },
        new[] { "EVAL", "return 1", "01", "a" },
        new[] { "EVAL", "return 1", "-1", "a" },
        new[] { "EVAL", "return 1", "2", "a" },
        new[] { "EVAL_RO", "return 1", "99999999999999999999", "a" },
        new[] { "FCALL", "rampart_f", "x", "a" },
        new[] { "FCALL", "rampart_f", "-1", "a" },
        new[] { "FCALL_RO", "rampart_f", "5", "a" },
        new[] { "ZUNIONSTORE", "d", "0", "a" },
        new[] { "ZUNIONSTORE", "d", "-1", "a" },
        new[] { "ZUNIONSTORE", "d", "x", "a" },
        new[] { "ZUNIONSTORE", "d", "2", "a" },
        new[] { "ZDIFFSTORE", "d", "9999999999", "a" },
        new[] { "ZUNION", "0", "a" },
        new[] { "ZINTER", "3", "a", "b" },
        new[] { "ZDIFF", "x", "a" },
        new[] { "ZINTERCARD", "0", "a" },
        new[] { "ZINTERCARD", "2", "a" },
        new[] { "SINTERCARD", "0", "a" },
        new[] { "SINTERCARD", "x", "a" },
        new[] { "SINTERCARD", "2", "a" },
        new[] { "LMPOP", "0", "a", "LEFT" },
        new[] { "LMPOP", "x", "a", "LEFT" },
        new[] { "LMPOP", "3", "a", "LEFT" },
        new[] { "ZMPOP", "-1", "a", "MIN" },
        new[] { "BLMPOP", "0", "0", "a", "LEFT" },
        new[] { "BZMPOP", "0", "3", "a", "MIN" },
        new[] { "XREAD", "COUNT", "1", "a", "b" },
        new[] { "XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS" },
        new[] { "XREAD", "COUNT", "1", "STREAMS", "a" },
        new[] { "XREAD", "STREAMS", "a", "b", "c" },
        new[] { "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "X" },
        new[] { "XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "b", "c" },
        new[] { "MIGRATE", "127.0.0.1", "1", "k", "0", "10", "KEYS", "a" },
        new[] { "GET" },
        new[] { "OBJECT", "ENCODING" },
    };

    /// <summary>When Rampart cannot find the keys it must answer exactly what Redis itself would.</summary>
    [Theory]
    [MemberData(nameof(MalformedCases))]
    public void GetKeys_ReportsTheErrorRedisReplies(string[] args)
    {
        // FCALL checks that the function exists before it parses numkeys, so load one.
        redis.Client.CallText("FUNCTION", "LOAD", "REPLACE",
            "#!lua name=rampart_tests\nredis.register_function('rampart_f', function(keys, args) return 1 end)");
        var reply = Assert.IsType<RespError>(redis.Client.CallText(args));
        string? message = With(args, r => CommandTable.Resolve(r)!.GetKeys(r).ErrorMessage);
        Assert.Equal(reply.Message, message);
    }
}
