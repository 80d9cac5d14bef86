using System.Text;
using Rampart.Protocol;
using Rampart.Proxy.Commands;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>INFO merged over a pool's servers, on fixed texts (the real servers' sums: ShardedInfoTests).</summary>
public sealed class InfoMergeTests
{
    private static readonly InfoFacts Facts = new(ConnectedClients: 7, UptimeSeconds: 90_000, Mode: "standalone");

    private static string Merge(params string[] texts) => InfoMerge.Merge(texts.Select(t => Encoding.UTF8.GetBytes(RespText.Bulk(t))), Facts);

    [Fact]
    public void Sections_KeepTheFirstServersOrder_AndEveryHeader_EvenOverNoLine()
    {
        string a = "# Server\r\nredis_version:7.0.15\r\ntcp_port:1\r\n\r\n# Persistence\r\nrdb_last_save_time:1\r\n\r\n# Replication\r\nrole:master\r\n";
        string b = "# Server\r\nredis_version:7.0.15\r\ntcp_port:2\r\n\r\n# Persistence\r\nrdb_last_save_time:2\r\n\r\n# Replication\r\nrole:master\r\n";
        var sections = Merge(a, b).Split("\r\n\r\n");
        Assert.Equal(["# Server", "# Persistence", "# Replication"], sections.Select(s => s.Split("\r\n")[0]));
        Assert.Equal("# Persistence", sections[1]);
        Assert.Equal("# Replication\r\nrole:master\r\n", sections[2]);
        Assert.Contains("redis_version:7.0.15", sections[0].Split("\r\n"));
        Assert.DoesNotContain(sections[0].Split("\r\n"), l => l.StartsWith("tcp_port:"));
    }

    [Fact]
    public void Server_SaysRampartsModeUptimeAndVersion_AndKeepsAVersionTheServersShare()
    {
        string a = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nuptime_in_seconds:5\r\nuptime_in_days:0\r\nhz:10\r\n";
        string b = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nuptime_in_seconds:9\r\nuptime_in_days:0\r\nhz:10\r\n";
        Assert.Equal("# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nuptime_in_seconds:90000\r\nuptime_in_days:1\r\nhz:10\r\n"
            + $"rampart_version:{InfoFacts.Version}\r\n", Merge(a, b));
        Assert.DoesNotContain("redis_version", Merge(a, b.Replace("7.0.15", "7.2.4")));
    }

    [Theory]
    [InlineData("standalone", "0")]
    [InlineData("cluster", "1")]
    public void Cluster_SaysClusterEnabledAsRampartsModeDoes_WhateverTheServersSay(string mode, string enabled)
    {
        var facts = Facts with { Mode = mode };
        string Merge(string a, string b) => InfoMerge.Merge(new[] { a, b }.Select(t => Encoding.UTF8.GetBytes(RespText.Bulk(t))), facts);
        Assert.Equal($"# Cluster\r\ncluster_enabled:{enabled}\r\n", Merge("# Cluster\r\ncluster_enabled:1\r\n", "# Cluster\r\ncluster_enabled:1\r\n"));
        Assert.Equal($"# Cluster\r\ncluster_enabled:{enabled}\r\n", Merge("# Cluster\r\ncluster_enabled:0\r\n", "# Cluster\r\ncluster_enabled:0\r\n"));
        Assert.Contains($"\r\nredis_mode:{mode}\r\n", Merge("# Server\r\nredis_mode:cluster\r\n", "# Server\r\nredis_mode:cluster\r\n"));
    }

    [Fact]
    public void Clients_CountsRampartsClients_SumsCounts_AndTakesTheLargestRecentBuffer()
    {
        string a = "# Clients\r\nconnected_clients:3\r\nmaxclients:10000\r\nclient_recent_max_input_buffer:20\r\nblocked_clients:1\r\n";
        string b = "# Clients\r\nconnected_clients:4\r\nmaxclients:10000\r\nclient_recent_max_input_buffer:8\r\nblocked_clients:2\r\n";
        Assert.Equal("# Clients\r\nconnected_clients:7\r\nmaxclients:10000\r\nclient_recent_max_input_buffer:20\r\nblocked_clients:3\r\n", Merge(a, b));
        Assert.DoesNotContain("maxclients", Merge(a, b.Replace("10000", "500")));
    }

    [Fact]
    public void Stats_SumsNumbers_KeepingRedissDecimals()
    {
        string a = "# Stats\r\ntotal_commands_processed:10\r\ninstantaneous_input_kbps:0.25\r\nexpired_stale_perc:0.00\r\n";
        string b = "# Stats\r\ntotal_commands_processed:32\r\ninstantaneous_input_kbps:1.50\r\nexpired_stale_perc:0.00\r\n";
        Assert.Equal("# Stats\r\ntotal_commands_processed:42\r\ninstantaneous_input_kbps:1.75\r\nexpired_stale_perc:0.00\r\n", Merge(a, b));
    }

    [Fact]
    public void Keyspace_SumsPerDatabase_InDatabaseOrder_WithAvgTtlWeightedByKeysThatHaveATtl()
    {
        string a = "# Keyspace\r\ndb0:keys=10,expires=1,avg_ttl=1000\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n";
        string b = "# Keyspace\r\ndb0:keys=5,expires=3,avg_ttl=5000\r\ndb1:keys=2,expires=0,avg_ttl=0\r\n";
        Assert.Equal("# Keyspace\r\ndb0:keys=15,expires=4,avg_ttl=4000\r\ndb1:keys=2,expires=0,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n", Merge(a, b));
        Assert.Equal("# Keyspace\r\n", Merge("# Keyspace\r\n", "# Keyspace\r\n"));
    }

    [Fact]
    public void HugeCounters_AndARepeatedField_MergeWithoutThrowing()
    {
        string big = long.MaxValue.ToString();
        Assert.Equal($"# Stats\r\ntotal_net_input_bytes:{(Int128)long.MaxValue * 2}\r\n",
            Merge($"# Stats\r\ntotal_net_input_bytes:{big}\r\n", $"# Stats\r\ntotal_net_input_bytes:{big}\r\ntotal_net_input_bytes:1\r\n"));
        // avg_ttl * expires past 2^63 on the way to the mean.
        Assert.Equal($"# Keyspace\r\ndb0:keys=2000000000,expires=2000000000,avg_ttl=31536000000000\r\n",
            Merge("# Keyspace\r\ndb0:keys=1000000000,expires=1000000000,avg_ttl=31536000000000\r\n",
                  "# Keyspace\r\ndb0:keys=1000000000,expires=1000000000,avg_ttl=31536000000000\r\n"));
    }

    [Fact]
    public void Resp3VerbatimStrings_AreReadAfterTheirFormat()
    {
        static byte[] Verbatim(string text) => Encoding.UTF8.GetBytes($"={Encoding.UTF8.GetByteCount(text) + 4}\r\ntxt:{text}\r\n");
        Assert.Equal("# Replication\r\nrole:master\r\n",
            InfoMerge.Merge([Verbatim("# Replication\r\nrole:master\r\nport:1\r\n"), Verbatim("# Replication\r\nrole:master\r\nport:2\r\n")], Facts));
    }

    [Fact]
    public void ANonBulkReply_OrABadKeyspaceLine_IsAProtocolError()
    {
        Assert.Throws<RespProtocolException>(() => InfoMerge.Merge([":1\r\n"u8.ToArray()], Facts));
        Assert.Throws<RespProtocolException>(() => Merge("# Keyspace\r\ndb0:keys=x\r\n"));
    }
}
