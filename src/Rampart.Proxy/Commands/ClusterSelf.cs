using System.Net;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Commands;

/// <summary>
/// Rampart as a cluster-aware client sees it through a cluster pool: one master, <see cref="NodeId"/>, at the address
/// the client connected to, owning every slot. <see cref="ServedSlots"/> is how many of them Rampart's own slot map
/// can serve now (16384 when the whole cluster behind it is up).
/// </summary>
internal readonly record struct ClusterSelf(string NodeId, string Ip, int Port, int ServedSlots)
{
    /// <summary>
    /// Redis's cluster bus port for a node at <see cref="Port"/>: port + 10000 (cluster.h CLUSTER_PORT_INCR). Redis will
    /// not run a cluster node above port 55535 for that reason; Rampart may listen there, and then says 0 (no bus)
    /// rather than a port number no client could parse as one.
    /// </summary>
    public int BusPort => Port + 10_000 <= IPEndPoint.MaxPort ? Port + 10_000 : 0;

    public bool AllSlotsServed => ServedSlots >= ClusterSlot.Count;

    /// <summary>
    /// Rampart as seen from a client connected at <paramref name="localEndPoint"/> (the listener's address for that
    /// connection, "ip:port" or "[v6]:port"). An IPv4 client of a dual-stack listener sees IPv4, as it connected. A unix
    /// socket has no address: ip "" and port 0, as a Redis node that does not know its own address shows itself.
    /// </summary>
    public static ClusterSelf Of(string poolName, string localEndPoint, int servedSlots)
    {
        string ip = "";
        int port = 0;
        if (IPEndPoint.TryParse(localEndPoint, out var endpoint))
        {
            var address = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
            ip = address.ToString();
            port = endpoint.Port;
        }
        return new ClusterSelf(ClusterSelfAnswers.NodeIdFor(poolName, ip, port), ip, port, servedSlots);
    }
}
