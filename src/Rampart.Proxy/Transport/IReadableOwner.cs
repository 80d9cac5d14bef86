namespace Rampart.Proxy.Transport;

/// <summary>
/// The owner of a parked <see cref="LoopSocket"/> (<see cref="LoopSocket.ParkUntilReadable"/>): told once, on the
/// event loop, that the socket has bytes, hung up or was closed. Nothing waits meanwhile: no task, no buffer.
/// </summary>
internal interface IReadableOwner
{
    void OnReadable();
}
