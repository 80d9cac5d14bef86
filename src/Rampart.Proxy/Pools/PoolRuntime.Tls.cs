using System.Net;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Security;

namespace Rampart.Proxy.Pools;

/// <summary>The pool's TLS listener state: its certificate context, the listener, and the clients it refused.</summary>
internal sealed partial class PoolRuntime
{
    private volatile ListenerTlsContext? _listenerTls;
    private volatile Clients.PoolListener? _tlsListener;
    private long _tlsRefused;

    /// <summary>The TLS listener's certificate and client rules now (null without a <c>tls:</c> block).</summary>
    public ListenerTlsContext? ListenerTls => _listenerTls;

    /// <summary>The pool's TLS listener, beside its plain <see cref="Listener"/>; null without a <c>tls:</c> block.</summary>
    public Clients.PoolListener? TlsListener
    {
        get => _tlsListener;
        set => _tlsListener = value;
    }

    /// <summary>Clients of the TLS listener refused at the handshake (no or a bad certificate, plain text, too slow).</summary>
    public long TlsRefused => Interlocked.Read(ref _tlsRefused);

    /// <summary>
    /// Reads the <c>tls:</c> block's files for <paramref name="config"/>: new ones when the block changed, the same
    /// ones again otherwise (a SIGHUP reloads certificates even when the config did not change). Throws
    /// <see cref="TlsFileException"/> when they cannot be used; the old context then stays.
    /// </summary>
    public void UseListenerTls(ListenerTlsConfig? config)
    {
        if (config is null)
        {
            _listenerTls = null;
            return;
        }
        if (_listenerTls is { } current && Reload.ConfigDiff.SameTls(current.Config, config))
        {
            if (!current.Reload()) throw new TlsFileException(current.LastError!);
            return;
        }
        _listenerTls = new ListenerTlsContext(config, Time);
    }

    /// <summary>A TLS client failed its handshake: it held an admission, given back now; logged at most once a second.</summary>
    public void CountTlsRefused(EndPoint? remote, SourceAddress? source, string reason)
    {
        Interlocked.Increment(ref _tlsRefused);
        CancelAdmission(source);
        _rejections.Rejected(Config.Name, remote?.ToString() ?? "?", "TLS handshake failed: " + reason);
    }
}
