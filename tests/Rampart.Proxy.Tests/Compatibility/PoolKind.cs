namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>The kinds of Rampart pool the differential suite runs through (flags, so a difference can name several).</summary>
[Flags]
public enum PoolKind
{
    /// <summary>One redis-server.</summary>
    Single = 1,
    /// <summary>Three redis-servers; every corpus key carries the hash tag <c>{t}</c>, so all land on one of them.</summary>
    Sharded = 2,
    /// <summary>A master found through a redis-sentinel.</summary>
    Sentinel = 4,
    All = Single | Sharded | Sentinel,
}
