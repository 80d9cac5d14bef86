using System.Globalization;
using System.Net.Sockets;
using Rampart.Proxy.Transport;

namespace Rampart.Cli;

/// <summary>
/// The new side of a zero-downtime upgrade (<c>rampart serve --takeover PIDFILE</c>, protocol in
/// <see cref="TakeoverOffer"/>): receives the running process's listening sockets, then, once this process accepts on
/// them, tells the old one to drain (<see cref="Commit"/>), or gives up (<see cref="Dispose"/> without Commit), which
/// leaves the old process serving exactly as before.
/// </summary>
internal sealed class TakeoverClaim : IDisposable
{
    private readonly Socket _channel;
    private readonly Dictionary<string, int> _listeners;

    private TakeoverClaim(Socket channel, int oldPid, Dictionary<string, int> listeners)
    {
        _channel = channel;
        OldPid = oldPid;
        _listeners = listeners;
    }

    public int OldPid { get; }

    /// <summary>Received listening sockets by listen address as configured (descriptors this process owns).</summary>
    public IReadOnlyDictionary<string, int> Listeners => _listeners;

    /// <summary>Connects to the process named by <paramref name="pidFile"/> and receives its listeners; null and a reason on failure.</summary>
    public static TakeoverClaim? Open(string pidFile, out string error)
    {
        error = "";
        int oldPid;
        try
        {
            string text = File.ReadAllText(pidFile).Trim();
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out oldPid) || oldPid <= 0)
            {
                error = $"pid file '{pidFile}' does not hold a process id ('{text}')";
                return null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read pid file '{pidFile}': {e.Message} (is rampart running with --pid-file {pidFile}?)";
            return null;
        }
        if (!Directory.Exists($"/proc/{oldPid}"))
        {
            error = $"no process {oldPid} (from pid file '{pidFile}') is running";
            return null;
        }
        string path = TakeoverOffer.ControlPath(pidFile);
        var channel = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        var listeners = new Dictionary<string, int>();
        try
        {
            channel.Connect(new UnixDomainSocketEndPoint(path));
            channel.ReceiveTimeout = (int)TakeoverOffer.StepTimeout.TotalMilliseconds;
            ListenerHandover.Send(channel, $"HELLO {Environment.ProcessId}");
            while (true)
            {
                var message = ListenerHandover.Receive(channel) ?? throw new IOException($"process {oldPid} closed the takeover socket");
                if (message.Text == "END") break;
                if (!message.Text.StartsWith("LISTEN ", StringComparison.Ordinal) || message.Fd < 0)
                {
                    ListenerHandover.CloseDescriptor(message.Fd);
                    throw new IOException($"unexpected takeover message '{message.Text}'");
                }
                listeners[message.Text["LISTEN ".Length..]] = message.Fd;
            }
            return new TakeoverClaim(channel, oldPid, listeners);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            foreach (int fd in listeners.Values) ListenerHandover.CloseDescriptor(fd);
            channel.Dispose();
            error = $"takeover of process {oldPid} through {path} failed: {e.Message}";
            return null;
        }
    }

    /// <summary>
    /// This process accepts on the received sockets: the old one stops accepting, closes its admin and stats ports
    /// and drains. Returns once it confirmed (false if it did not within the step timeout; it drains anyway).
    /// </summary>
    public bool Commit()
    {
        try
        {
            ListenerHandover.Send(_channel, "DRAIN");
            return ListenerHandover.Receive(_channel) is { Text: "BYE" };
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _channel.Dispose();
}
