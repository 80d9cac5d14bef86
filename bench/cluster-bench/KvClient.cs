using System.Text;
using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace ClusterBench;

/// <summary>
/// What a load client does: SET and GET one key at a time, and GET many to verify. Any error reply, timeout or broken
/// connection is thrown: to the scenarios, each is one client-visible error.
/// </summary>
public interface IKvClient : IDisposable
{
    void Set(string key, string value);
    string? Get(string key);
    IReadOnlyList<string?> GetMany(IReadOnlyList<string> keys);
}

/// <summary>
/// A plain (not cluster-aware) client on its own connection, as an application behind Rampart is: RESP over a socket
/// by the tests' <see cref="RespTestClient"/>, 5 s read timeout; after an error it reconnects on the next call.
/// </summary>
public sealed class PlainKvClient(int port) : IKvClient
{
    private RespTestClient? _client;

    private object? Call(params string[] command)
    {
        try
        {
            _client ??= Connect();
            return Check(_client.Call(command));
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidDataException)
        {
            Drop();
            throw;
        }
    }

    private RespTestClient Connect()
    {
        var client = RespTestClient.ConnectTcp(port);
        client.ReadTimeoutMs = 5000;
        return client;
    }

    private static object? Check(object? reply) => reply is RespError e ? throw new InvalidOperationException(e.Message) : reply;

    private void Drop()
    {
        _client?.Dispose();
        _client = null;
    }

    public void Set(string key, string value)
    {
        if (Call("SET", key, value) as string != "OK") throw new InvalidOperationException("SET did not answer +OK");
    }

    public string? Get(string key) => Call("GET", key) is byte[] bytes ? Encoding.UTF8.GetString(bytes) : null;

    /// <summary>Pipelined: one write of every GET of a batch, then the replies in order.</summary>
    public IReadOnlyList<string?> GetMany(IReadOnlyList<string> keys)
    {
        var values = new List<string?>(keys.Count);
        try
        {
            _client ??= Connect();
            foreach (var batch in keys.Chunk(500))
            {
                _client.Send(batch.SelectMany(k => RespTestClient.Command("GET", k)).ToArray());
                foreach (var _ in batch)
                    values.Add(Check(_client.ReadReply()) is byte[] bytes ? Encoding.UTF8.GetString(bytes) : null);
            }
            return values;
        }
        catch
        {
            Drop();
            throw;
        }
    }

    public void Dispose() => Drop();
}

/// <summary>
/// The cluster-aware client direct to the cluster (StackExchange.Redis follows MOVED and ASK itself): the stand-in for
/// "through Rampart" in --direct-only runs, shared by every load client as applications share a multiplexer.
/// </summary>
public sealed class ClusterKvClient(IDatabase db) : IKvClient
{
    public void Set(string key, string value)
    {
        if (!db.StringSet(key, value)) throw new InvalidOperationException("SET returned false");
    }

    public string? Get(string key) => db.StringGet(key);

    public IReadOnlyList<string?> GetMany(IReadOnlyList<string> keys)
    {
        var values = new List<string?>(keys.Count);
        foreach (var batch in keys.Chunk(500))
        {
            var pending = batch.Select(k => db.StringGetAsync(k)).ToArray();
            Task.WaitAll(pending);
            values.AddRange(pending.Select(t => (string?)t.Result));
        }
        return values;
    }

    public void Dispose() { } // the multiplexer belongs to the environment
}
