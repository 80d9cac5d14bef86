using System.Net.Sockets;
using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Tests.Cli;

/// <summary>
/// One client of the takeover test: unique SET then GET rounds on its own key, over raw RESP, counting everything a
/// proxy switch could do to it. A connect that fails is counted as refused (then tried again, so the run goes on).
/// Before each round it looks whether the proxy closed the connection (a close at a request boundary: reconnect).
/// A connection that closes with a request outstanding is checked directly in Redis: a SET that took effect without
/// its reply reaching the client is a lost reply; one that did not take effect was never read by the proxy.
/// </summary>
internal sealed class SetGetRounds(int id, int proxyPort, int redisPort)
{
    private readonly string _key = $"takeover:{id}";
    private Socket? _socket;
    private readonly byte[] _buffer = new byte[4096];
    private int _buffered;

    public int Rounds;
    public int Wrong;
    public int Refused;
    public int BoundaryCloses;
    public int ClosedWithRequestOutstanding;
    public int Lost;
    public string? LastAcknowledged;
    public readonly List<string> Problems = [];

    public string Key => _key;
    public int Closes => BoundaryCloses + ClosedWithRequestOutstanding;

    /// <summary>Runs rounds until <paramref name="stop"/> is set.</summary>
    public void Run(Func<bool> stop)
    {
        try
        {
            while (!stop())
            {
                if (_socket is null && !Connect()) continue;
                if (ClosedAtBoundary()) continue;
                string value = $"{id}:{Rounds}:{Guid.NewGuid():N}";
                string? set = Exchange(RespText.Command("SET", _key, value));
                if (set is null)
                {
                    OutstandingClose(value);
                    continue;
                }
                if (set != "+OK") Fail($"SET answered '{set}'");
                else LastAcknowledged = value;
                if (ClosedAtBoundary()) continue;
                string? get = Exchange(RespText.Command("GET", _key));
                if (get is null)
                {
                    OutstandingClose(null);
                    continue;
                }
                if (get != LastAcknowledged) Fail($"GET answered '{get}', last acknowledged SET was '{LastAcknowledged}'");
                Rounds++;
            }
        }
        finally
        {
            _socket?.Dispose();
        }
    }

    private void Fail(string problem)
    {
        Wrong++;
        lock (Problems) Problems.Add($"client {id}: {problem}");
    }

    private void OutstandingClose(string? unansweredSet)
    {
        ClosedWithRequestOutstanding++;
        if (unansweredSet is not null)
        {
            string direct = RedisProgram.ExchangeOnce(redisPort, RespText.Command("GET", _key), readTimeoutMs: 5000);
            if (direct.Contains(unansweredSet, StringComparison.Ordinal))
            {
                Lost++;
                lock (Problems) Problems.Add($"client {id}: SET {unansweredSet} took effect but its connection closed before the reply");
                LastAcknowledged = unansweredSet; // it is the value now
            }
        }
        Reconnect();
    }

    private void Reconnect()
    {
        _socket?.Dispose();
        _socket = null;
        _buffered = 0;
    }

    private bool Connect()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 10_000, SendTimeout = 10_000 };
        try
        {
            socket.Connect("127.0.0.1", proxyPort);
            _socket = socket;
            return true;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            Refused++;
            lock (Problems) Problems.Add($"client {id}: connect failed: {e.SocketErrorCode}");
            Thread.Sleep(10);
            return false;
        }
    }

    /// <summary>
    /// True (and counted, and the connection dropped) when the proxy closed the connection after its last reply:
    /// readable with nothing to read, as a careful client checks before it sends.
    /// </summary>
    private bool ClosedAtBoundary()
    {
        bool closed;
        try
        {
            closed = _socket!.Poll(0, SelectMode.SelectRead) && _socket.Available == 0;
        }
        catch (SocketException)
        {
            closed = true;
        }
        if (!closed) return false;
        BoundaryCloses++;
        Reconnect();
        return true;
    }

    /// <summary>Sends one request and reads its reply: "+OK", "-ERR ...", a bulk string's text, "(nil)"; null if the connection closed first.</summary>
    private string? Exchange(string request)
    {
        try
        {
            _socket!.Send(Encoding.UTF8.GetBytes(request));
            string? line = ReadLine();
            if (line is null || line.Length == 0) return line;
            if (line[0] != '$') return line;
            int length = int.Parse(line.AsSpan(1));
            if (length < 0) return "(nil)";
            string? data = ReadLine();
            return data is not null && data.Length == length ? data : null;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            return null;
        }
    }

    private string? ReadLine()
    {
        while (true)
        {
            int end = _buffer.AsSpan(0, _buffered).IndexOf("\r\n"u8);
            if (end >= 0)
            {
                string line = Encoding.UTF8.GetString(_buffer, 0, end);
                _buffer.AsSpan(end + 2, _buffered - end - 2).CopyTo(_buffer);
                _buffered -= end + 2;
                return line;
            }
            int n = _socket!.Receive(_buffer, _buffered, _buffer.Length - _buffered, SocketFlags.None);
            if (n == 0) return null;
            _buffered += n;
        }
    }
}
