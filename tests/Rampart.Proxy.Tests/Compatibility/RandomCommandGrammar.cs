using System.Text;

namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// Random commands from a grammar over a small key space (six keys, all tagged <c>{t}</c>), so commands meet each
/// other's values: wrong types, counters over strings, renames onto live keys, transactions. Only commands whose reply
/// Redis makes deterministic are generated: sets are read sorted or counted (a set of strings is a hash table,
/// iterated in a per-process random order), hashes stay small (listpack, insertion order), TTLs are large, no random
/// pops. The same seed gives the same sequence.
/// </summary>
public sealed class RandomCommandGrammar(int seed)
{
    private static readonly string[] Keys = ["{t}r0", "{t}r1", "{t}r2", "{t}r3", "{t}r4", "{t}r5"];
    private static readonly string[] Values = ["", "a", "b", "0", "1", "-1", "42", "3.5", "9223372036854775807", "x\0y", "\r\n", "\u00e9\u00ff", "long-value-long-value-long-value"];
    private static readonly string[] Fields = ["f0", "f1", "f2", ""];

    private readonly Random _random = new(seed);
    private int _index;

    private string Key => Keys[_random.Next(Keys.Length)];
    private string Value => Values[_random.Next(Values.Length)];
    private string Field => Fields[_random.Next(Fields.Length)];
    private string Index => _random.Next(-4, 5).ToString();
    private string Count => _random.Next(0, 4).ToString();

    /// <summary>The next commands: usually one, a whole MULTI ... EXEC block now and then.</summary>
    public IEnumerable<CorpusCommand> Next()
    {
        if (_random.Next(40) == 0)
        {
            yield return Make("MULTI");
            int n = _random.Next(0, 4);
            for (int i = 0; i < n; i++) yield return Make(Simple());
            yield return Make(_random.Next(6) == 0 ? "DISCARD" : "EXEC");
            yield break;
        }
        yield return Make(Simple());
    }

    private CorpusCommand Make(params string[] args) =>
        new($"random(seed {seed})", ++_index, args.Select(a => Encoding.UTF8.GetBytes(a)).ToArray());

    private string[] Simple() => _random.Next(48) switch
    {
        0 => ["SET", Key, Value],
        1 => ["GET", Key],
        2 => ["APPEND", Key, Value],
        3 => ["INCR", Key],
        4 => ["INCRBY", Key, Index],
        5 => ["INCRBYFLOAT", Key, Value],
        6 => ["GETRANGE", Key, Index, Index],
        7 => ["SETRANGE", Key, _random.Next(0, 6).ToString(), Value],
        8 => ["STRLEN", Key],
        9 => ["MSET", Key, Value, Key, Value],
        10 => ["MGET", Key, Key, Key],
        11 => ["GETDEL", Key],
        12 => ["LPUSH", Key, Value, Value],
        13 => ["RPUSH", Key, Value],
        14 => ["LPOP", Key],
        15 => ["RPOP", Key, Count],
        16 => ["LRANGE", Key, Index, Index],
        17 => ["LINDEX", Key, Index],
        18 => ["LSET", Key, Index, Value],
        19 => ["LREM", Key, Index, Value],
        20 => ["LMOVE", Key, Key, _random.Next(2) == 0 ? "LEFT" : "RIGHT", _random.Next(2) == 0 ? "LEFT" : "RIGHT"],
        21 => ["HSET", Key, Field, Value],
        22 => ["HGET", Key, Field],
        23 => ["HGETALL", Key],
        24 => ["HDEL", Key, Field],
        25 => ["HINCRBY", Key, Field, Index],
        26 => ["HLEN", Key],
        27 => ["SADD", Key, Value, Value],
        28 => ["SREM", Key, Value],
        29 => ["SCARD", Key],
        30 => ["SISMEMBER", Key, Value],
        31 => ["SORT", Key, "ALPHA"],
        32 => ["SINTERCARD", "2", Key, Key],
        33 => ["ZADD", Key, Index, Value],
        34 => ["ZINCRBY", Key, Value, Value],
        35 => ["ZRANGE", Key, Index, Index, "WITHSCORES"],
        36 => ["ZSCORE", Key, Value],
        37 => ["ZRANK", Key, Value],
        38 => ["ZUNIONSTORE", Key, "2", Key, Key],
        39 => ["DEL", Key, Key],
        40 => ["EXISTS", Key, Key],
        41 => ["TYPE", Key],
        42 => ["RENAME", Key, Key],
        43 => ["COPY", Key, Key, "REPLACE"],
        44 => ["EXPIRE", Key, (100_000 + _random.Next(1000)).ToString()],
        45 => ["TTL", Key],
        46 => ["PERSIST", Key],
        _ => ["OBJECT", "ENCODING", Key],
    };
}
