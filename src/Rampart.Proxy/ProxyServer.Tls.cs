using System.Net.Sockets;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Pools;
using Rampart.Proxy.Security;

namespace Rampart.Proxy;

/// <summary>
/// The pools' TLS listeners (<c>tls:</c>): bound beside the plain ones at start, moved, added or closed by a reload, and
/// their certificates read again at every reload (SIGHUP included, even when the config did not change). Files that
/// changed between reloads are picked up by the contexts themselves (<see cref="TlsFileWatch{T}"/>).
/// </summary>
public sealed partial class ProxyServer
{
    /// <summary>Binds the pool's TLS listener (not accepting yet), when it has a <c>tls:</c> block.</summary>
    private void BindTls(PoolRuntime pool, PoolConfig config)
    {
        if (config.Tls is not { } tls) return;
        pool.UseListenerTls(tls);
        pool.TlsListener = new PoolListener(pool, tls.Listen, config.Backlog, ClientLogger, TakeInherited(tls.Listen), tls: true);
    }

    private void StartTls(PoolRuntime pool)
    {
        if (pool.TlsListener is not { } listener) return;
        listener.Start();
        LogListeningTls(pool.Config.Name, listener.LocalEndPoint.ToString() ?? "?");
    }

    /// <summary>The address a pool's TLS listener listens on (the real port when the config said port 0).</summary>
    public System.Net.EndPoint GetTlsListenEndPoint(string poolName) => GetPool(poolName).TlsListener!.LocalEndPoint;

    /// <summary>
    /// After a reload's commit: each pool's TLS listener as its new config says (closed, bound, or moved), and its
    /// certificate files read again. A failure costs only that pool's TLS listener change, and is reported.
    /// </summary>
    private void ApplyTls(IEnumerable<(PoolRuntime Pool, PoolConfig Config)> pools, List<string> errors)
    {
        foreach (var (pool, config) in pools)
        {
            try
            {
                if (config.ServerTls is { } serverTls && ServerTlsContext.For(serverTls) is { } context && !context.Reload())
                    errors.Add($"{_config.Source}:{serverTls.Line}: pool '{config.Name}': server_tls: {context.LastError}; the previous files stay in use");
                pool.UseListenerTls(config.Tls);
            }
            catch (TlsFileException e)
            {
                errors.Add($"{_config.Source}:{config.Tls!.Line}: pool '{config.Name}': tls: {e.Message}; the previous certificate stays in use");
                continue;
            }
            var listener = pool.TlsListener;
            if (listener is not null && config.Tls is not null && listener.Listen == config.Tls.Listen) continue; // same address: kept
            listener?.Dispose();
            pool.TlsListener = null;
            if (config.Tls is not { } tls) continue;
            try
            {
                pool.TlsListener = new PoolListener(pool, tls.Listen, config.Backlog, ClientLogger, tls: true);
                StartTls(pool);
            }
            catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
            {
                errors.Add($"{_config.Source}:{tls.Line}: pool '{config.Name}': cannot listen with TLS on {tls.Listen}: {e.Message}");
            }
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Pool {Pool}: TLS listener on {Address}")]
    private partial void LogListeningTls(string pool, string address);
}
