using System.Net;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Tests.Transport;

/// <summary>
/// An accepted client keeps its peer as a <see cref="PeerAddress"/> value: the endpoint it gives back, and the
/// per-address key computed from it, must be what .NET's own endpoint gave, for every kind of address.
/// </summary>
public sealed class PeerAddressTests
{
    [Theory]
    [InlineData("127.0.0.1", 5000)]
    [InlineData("10.200.3.4", 65535)]
    [InlineData("0.0.0.1", 1)]
    [InlineData("::1", 6379)]
    [InlineData("2001:db8:1:2:ffff::9", 40000)]
    [InlineData("::ffff:10.1.2.3", 1234)]
    [InlineData("fe80::1%3", 22121)]
    public void Endpoint_AndSourceKey_AreThoseOfTheDotNetEndpoint(string address, int port)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(address), port);
        var peer = PeerAddress.Of(endpoint);

        Assert.True(peer.IsIP);
        Assert.Equal(endpoint, peer.ToEndPoint());
        Assert.Equal(endpoint.ToString(), peer.ToEndPoint()!.ToString()); // CLIENT LIST's addr=, scope included
        Assert.Equal(SourceAddress.Of(endpoint), SourceAddress.Of(peer));
    }

    [Fact]
    public void NoAddress_IsAUnixSocketClient()
    {
        Assert.False(default(PeerAddress).IsIP);
        Assert.Null(default(PeerAddress).ToEndPoint());
        Assert.Null(SourceAddress.Of(default(PeerAddress)));
    }
}
