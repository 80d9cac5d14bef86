using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Routing;

/// <summary>
/// Redis Cluster's key slots: the CRC16 check value, the examples of the cluster specification, and every key of a
/// varied set against a real cluster-enabled redis-server's own CLUSTER KEYSLOT.
/// </summary>
public class ClusterSlotTests
{
    [Fact]
    public void Crc16_IsXmodem() => Assert.Equal(0x31C3, ClusterSlot.Crc16("123456789"u8));

    [Fact]
    public void Crc16_TwoBytesAStep_MatchesTheBitwiseDefinition_ForOddAndEvenLengths()
    {
        var random = new Random(16384);
        for (int length = 0; length <= 64; length++)
            for (int sample = 0; sample < 20; sample++)
            {
                var data = new byte[length];
                random.NextBytes(data);
                Assert.Equal(BitwiseCrc16(data), ClusterSlot.Crc16(data));
            }
    }

    // CRC16-XMODEM straight from its definition, one bit at a time: polynomial 0x1021, initial value 0, no reflection.
    private static ushort BitwiseCrc16(byte[] data)
    {
        int crc = 0;
        foreach (byte b in data)
        {
            crc ^= b << 8;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
        }
        return (ushort)crc;
    }

    [Theory]
    [InlineData("{user1000}.following", "{user1000}.followers")] // the tag decides
    [InlineData("foo{}{bar}", "foo{}{bar}")] // an empty first tag: the whole key
    [InlineData("foo{{bar}}zap", "{bar")] // the tag is "{bar"
    [InlineData("foo{bar}{zap}", "bar")] // only the first tag counts
    public void HashTags_FollowTheClusterSpecification(string key, string sameSlotAs) =>
        Assert.Equal(ClusterSlot.Of(Encoding.UTF8.GetBytes(sameSlotAs)), ClusterSlot.Of(Encoding.UTF8.GetBytes(key)));

    [Fact]
    public void EveryKey_GetsTheSlotARealClusterNodeGivesIt()
    {
        string nodes = Path.Combine(Path.GetTempPath(), $"rampart-nodes-{Guid.NewGuid():N}.conf");
        try
        {
            using var node = RedisServerProcess.Start("--cluster-enabled", "yes", "--cluster-config-file", nodes);
            using var client = RespTestClient.ConnectTcp(node.Port);
            var random = new Random(1234);
            var keys = new List<byte[]>
            {
                ""u8.ToArray(), "foo"u8.ToArray(), "{}"u8.ToArray(), "{a}"u8.ToArray(), "}{"u8.ToArray(), "a{b"u8.ToArray(),
                "{user1000}.following"u8.ToArray(), new byte[] { 0x00, 0xFF, 0x7B, 0x01, 0x7D },
            };
            for (int i = 0; i < 500; i++)
            {
                var key = new byte[random.Next(0, 40)];
                random.NextBytes(key);
                // Braces more often than chance, so tags of every shape come up.
                for (int b = 0; b < key.Length; b++) if (random.Next(6) == 0) key[b] = random.Next(2) == 0 ? (byte)'{' : (byte)'}';
                keys.Add(key);
            }
            foreach (var key in keys)
            {
                client.Send(RespTestClient.Command([.. new[] { "CLUSTER"u8.ToArray(), "KEYSLOT"u8.ToArray(), key }]));
                Assert.True((long)client.ReadReply()! == ClusterSlot.Of(key), $"slot of {Convert.ToHexString(key)}");
            }
        }
        finally
        {
            File.Delete(nodes);
        }
    }
}
