using System.Net.Security;

namespace Rampart.Proxy.Transport;

/// <summary>
/// Runs a TLS handshake over a <see cref="LoopSocket"/> that is already watched by its loop, as the server (a client
/// of a TLS listener) or as the client (a connection to a TLS Redis), then makes the socket read and write through the
/// session (<see cref="LoopSocket.UseTls"/>). <c>cancel</c> (the handshake's time limit) closes the socket, so a peer
/// that never finishes its handshake holds nothing for longer than the limit.
/// </summary>
internal static class TlsHandshake
{
    public static Task AcceptAsync(LoopSocket socket, SslServerAuthenticationOptions options, CancellationToken cancel) =>
        RunAsync(socket, cancel, tls => tls.AuthenticateAsServerAsync(options, CancellationToken.None));

    public static Task ConnectAsync(LoopSocket socket, SslClientAuthenticationOptions options, CancellationToken cancel) =>
        RunAsync(socket, cancel, tls => tls.AuthenticateAsClientAsync(options, CancellationToken.None));

    private static async Task RunAsync(LoopSocket socket, CancellationToken cancel, Func<SslStream, Task> authenticate)
    {
        var tls = new SslStream(new LoopSocketStream(socket), leaveInnerStreamOpen: true);
        try
        {
            using (cancel.Register(socket.Close)) await authenticate(tls);
        }
        catch (Exception e) when (cancel.IsCancellationRequested)
        {
            tls.Dispose();
            throw new OperationCanceledException("TLS handshake timed out", e, cancel);
        }
        catch (System.Security.Authentication.AuthenticationException e)
        {
            // An IOException, as every caller expects of a connection that cannot be used (a server goes to backoff).
            tls.Dispose();
            socket.Close();
            throw new IOException($"TLS handshake failed: {e.Message}", e);
        }
        catch
        {
            tls.Dispose();
            throw;
        }
        socket.UseTls(tls);
    }
}
