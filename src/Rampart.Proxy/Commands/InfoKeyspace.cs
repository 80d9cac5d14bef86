using System.Globalization;
using Rampart.Protocol;

namespace Rampart.Proxy.Commands;

/// <summary>
/// INFO's keyspace section for a pool of several servers, in Redis's own line format
/// (<c>db0:keys=N,expires=N,avg_ttl=N</c>), one line per database any server has, in database order: keys and expires
/// (and any other count a newer server adds, such as 7.4's subexpiry) summed; avg_ttl, the mean TTL in ms over a
/// server's keys that have one, averaged weighted by each server's count of such keys (its expires), so the pool's
/// value is what one server holding all those keys would print (0 when no key has a TTL, as Redis prints).
/// </summary>
internal static class InfoKeyspace
{
    public static List<string> Merge(List<string[]> perServer)
    {
        // database number -> field -> (sum, or for avg_ttl the sum of avg_ttl * expires); Int128, so that no value a
        // server prints can overflow the product (and throw on a server's reader).
        var databases = new SortedDictionary<int, Dictionary<string, Int128>>();
        var fieldOrder = new List<string>();
        foreach (var lines in perServer)
        {
            foreach (string line in lines)
            {
                var (db, fields) = Parse(line);
                if (!databases.TryGetValue(db, out var totals)) databases[db] = totals = new Dictionary<string, Int128>();
                long expires = fields.FirstOrDefault(f => f.Name == "expires").Value;
                foreach (var (name, value) in fields)
                {
                    if (!fieldOrder.Contains(name)) fieldOrder.Add(name);
                    totals[name] = totals.GetValueOrDefault(name) + (name == "avg_ttl" ? (Int128)value * expires : value);
                }
            }
        }
        return databases.Select(db => $"db{db.Key}:" + string.Join(',', fieldOrder.Where(db.Value.ContainsKey).Select(name =>
        {
            Int128 value = db.Value[name];
            if (name == "avg_ttl") value = db.Value.GetValueOrDefault("expires") is var expires && expires > 0 ? value / expires : 0;
            return name + "=" + value.ToString(CultureInfo.InvariantCulture);
        }))).ToList();
    }

    /// <summary><c>db3:keys=1,expires=0,avg_ttl=0</c> as (3, {keys: 1, expires: 0, avg_ttl: 0}).</summary>
    private static (int Db, List<(string Name, long Value)> Fields) Parse(string line)
    {
        int colon = line.IndexOf(':');
        if (!line.StartsWith("db", StringComparison.Ordinal) || colon < 3
            || !int.TryParse(line.AsSpan(2, colon - 2), NumberStyles.None, CultureInfo.InvariantCulture, out int db))
            throw new RespProtocolException("Protocol error from server: bad INFO keyspace line");
        var fields = new List<(string, long)>();
        foreach (string pair in line[(colon + 1)..].Split(','))
        {
            int equals = pair.IndexOf('=');
            if (equals <= 0 || !long.TryParse(pair.AsSpan(equals + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
                throw new RespProtocolException("Protocol error from server: bad INFO keyspace line");
            fields.Add((pair[..equals], value));
        }
        return (db, fields);
    }
}
