using System.Net.Sockets;

namespace Rampart.Proxy.Transport;

/// <summary>
/// The accept loop of the listeners on .NET's engine (the stats port's in the host; the pools' accept on their event
/// loop, <see cref="LoopAcceptor"/>, with the same split), with the three-tier split
/// of accept errors: the listener closed ends the loop; any other failure goes to the listener's own handler, which logs
/// it and says how long to wait before accepting again (zero for a transient error, a pause under resource pressure
/// such as running out of file descriptors, so the loop does not spin).
/// </summary>
public static class AcceptLoop
{
    /// <summary>
    /// Accepts on <paramref name="listener"/> until it is closed, handing each connection to <paramref name="admit"/>
    /// (which must not block: it runs on the loop), or until <paramref name="stop"/> is cancelled: the socket then stays
    /// open and its queue intact for another process that shares it (a takeover, <see cref="ListenerHandover"/>).
    /// </summary>
    public static async Task RunAsync(Socket listener, Action<Socket> admit, Func<SocketException, TimeSpan> onError, TimeProvider time,
        CancellationToken stop = default)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted
                                             || (e.SocketErrorCode == SocketError.Interrupted && !listener.IsBound))
            {
                return;
            }
            catch (SocketException e)
            {
                var pause = onError(e);
                if (pause > TimeSpan.Zero) await Task.Delay(pause, time);
                continue;
            }
            admit(client);
        }
    }
}
