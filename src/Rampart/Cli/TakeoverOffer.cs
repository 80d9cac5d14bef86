using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Rampart.Proxy;
using Rampart.Proxy.Transport;

namespace Rampart.Cli;

/// <summary>
/// The running side of a zero-downtime upgrade: with a pid file, <c>rampart serve</c> listens on the control socket
/// <c>PIDFILE.takeover</c> (a unix SOCK_SEQPACKET socket, mode 0600: only the same user may take over). A new
/// <c>rampart serve --takeover PIDFILE</c> connects; this process sends it every listening socket
/// (<see cref="ListenerHandover"/>), and once the new process says it accepts (<c>DRAIN</c>), stops accepting and
/// calls <c>handedOver</c>, which drains the clients and exits. A new process that goes away before <c>DRAIN</c>
/// (bad config, a port it could not bind) changes nothing here: this process never stopped accepting.
/// The protocol, one message each: new "HELLO pid"; old "LISTEN address" with the socket, repeated, then "END";
/// new "DRAIN"; old "BYE" (after it stopped accepting and closed its admin and stats ports).
/// </summary>
internal sealed partial class TakeoverOffer : IDisposable
{
    /// <summary>How long either side waits for the other's next message.</summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    private readonly Socket _control;
    private readonly string _path;
    private readonly ProxyServer _server;
    private readonly ILogger _logger;
    private readonly Func<int, Task> _handedOver;
    private volatile bool _done;
    private volatile bool _tookOver;

    public static string ControlPath(string pidFile) => pidFile + ".takeover";

    /// <param name="handedOver">Called with the new process's pid once it accepts; returns when admin and stats ports are closed.</param>
    public TakeoverOffer(string pidFile, ProxyServer server, ILogger logger, Func<int, Task> handedOver)
    {
        _path = ControlPath(pidFile);
        _server = server;
        _logger = logger;
        _handedOver = handedOver;
        if (File.Exists(_path)) File.Delete(_path); // a stale one from a process that died, or the one taken over
        _control = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        _control.Bind(new UnixDomainSocketEndPoint(_path));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _control.Listen(1);
        new Thread(Run) { IsBackground = true, Name = "rampart-takeover" }.Start();
        LogOffered(_path);
    }

    /// <summary>True once a new process took the listeners: this process must not remove the pid file nor the control socket.</summary>
    public bool HandedOver => _tookOver;

    private void Run()
    {
        while (!_done)
        {
            Socket channel;
            try
            {
                channel = _control.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // stopping
            }
            using (channel)
            {
                try
                {
                    Serve(channel);
                }
                catch (Exception e) when (e is SocketException or FormatException)
                {
                    LogAbandoned(e.Message);
                }
            }
        }
    }

    private void Serve(Socket channel)
    {
        channel.ReceiveTimeout = (int)StepTimeout.TotalMilliseconds;
        var hello = ListenerHandover.Receive(channel);
        if (hello is not { Text: var text } || !text.StartsWith("HELLO ", StringComparison.Ordinal))
            throw new FormatException("the new process did not say HELLO");
        int pid = int.Parse(text.AsSpan(6), System.Globalization.CultureInfo.InvariantCulture);
        var listeners = _server.ListenersForHandover();
        LogRequested(pid, listeners.Count);
        foreach (var (listen, socket) in listeners)
            ListenerHandover.Send(channel, "LISTEN " + listen, (int)socket.SafeHandle.DangerousGetHandle());
        ListenerHandover.Send(channel, "END");
        var answer = ListenerHandover.Receive(channel);
        if (answer is not { Text: "DRAIN" })
        {
            LogAbandoned(answer is null ? $"pid {pid} went away before it accepted" : $"pid {pid} said '{answer.Value.Text}'");
            return;
        }
        _done = _tookOver = true;
        _server.HandOverListeners();
        LogHandedOver(pid);
        _handedOver(pid).GetAwaiter().GetResult();
        ListenerHandover.Send(channel, "BYE");
        _control.Dispose(); // no second takeover of a process that is leaving; the path is the new process's now
    }

    public void Dispose()
    {
        _done = true;
        _control.Dispose();
        if (_tookOver) return; // the control path is the new process's now
        try { File.Delete(_path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Takeover: listening for a new process on {Path}")]
    private partial void LogOffered(string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Takeover requested by pid {Pid}: sending {Count} listening socket(s)")]
    private partial void LogRequested(int pid, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Takeover: pid {Pid} accepts now; this process stopped accepting and drains its clients")]
    private partial void LogHandedOver(int pid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Takeover abandoned ({Reason}); this process keeps serving")]
    private partial void LogAbandoned(string reason);
}
