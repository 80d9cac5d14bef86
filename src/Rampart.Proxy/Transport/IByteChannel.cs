using System.Net.Sockets;

namespace Rampart.Proxy.Transport;

/// <summary>What a server handshake needs of a connection, on the event loop or on .NET's socket engine.</summary>
internal interface IByteChannel
{
    ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancel);
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancel);
}

/// <summary>A socket on .NET's engine (dedicated connections) as a handshake channel.</summary>
internal sealed class NetSocketChannel(Socket socket) : IByteChannel
{
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancel) =>
        await socket.SendAsync(data, SocketFlags.None, cancel);

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancel) =>
        socket.ReceiveAsync(buffer, SocketFlags.None, cancel);
}
