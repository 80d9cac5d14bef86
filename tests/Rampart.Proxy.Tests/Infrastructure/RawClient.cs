using System.Net.Sockets;
using System.Text;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>A bare TCP client for sending exact bytes (including malformed ones) and reading exact replies.</summary>
public sealed class RawClient : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly MemoryStream _pending = new();

    public RawClient(int port)
    {
        _client = new TcpClient("127.0.0.1", port) { NoDelay = true };
        _stream = _client.GetStream();
        _stream.ReadTimeout = 10_000;
    }

    /// <summary>
    /// Connects to 127.0.0.1 from <paramref name="from"/> (any address of 127/8 is loopback on Linux): a second
    /// source address for the per-address limits.
    /// </summary>
    public RawClient(int port, System.Net.IPAddress from)
    {
        _client = new TcpClient(new System.Net.IPEndPoint(from, 0)) { NoDelay = true };
        _client.Connect("127.0.0.1", port);
        _stream = _client.GetStream();
        _stream.ReadTimeout = 10_000;
    }

    /// <summary>True when the server sent nothing (and did not close) within <paramref name="wait"/>; reads nothing.</summary>
    public bool IsSilentFor(TimeSpan wait) => !_client.Client.Poll((int)(wait.TotalMilliseconds * 1000), SelectMode.SelectRead);

    public void Send(string text) => Send(Encoding.UTF8.GetBytes(text));
    public void Send(byte[] bytes) => _stream.Write(bytes);

    /// <summary>Reads until <paramref name="expected"/> bytes have arrived (or the connection closes) and returns them.</summary>
    public string ReadExactly(int expected) => Encoding.UTF8.GetString(ReadBytes(expected));

    /// <summary>Reads until <paramref name="expected"/> bytes have arrived (or the connection closes): the bytes read.</summary>
    public byte[] ReadBytes(int expected)
    {
        var buffer = new byte[expected];
        int total = 0;
        while (total < expected)
        {
            int n = _stream.Read(buffer, total, expected - total);
            if (n == 0) break;
            total += n;
        }
        return buffer[..total];
    }

    /// <summary>
    /// Fills <paramref name="into"/> from the stream (a part of a large reply, compared without holding it whole);
    /// false when the connection closed first.
    /// </summary>
    public bool TryReadExactly(Span<byte> into)
    {
        int total = 0;
        while (total < into.Length)
        {
            int n = _stream.Read(into[total..]);
            if (n == 0) return false;
            total += n;
        }
        return true;
    }

    /// <summary>Reads one CRLF-terminated line.</summary>
    public string ReadLine()
    {
        var line = new StringBuilder();
        int b;
        while ((b = _stream.ReadByte()) >= 0)
        {
            if (b == '\n' && line.Length > 0 && line[^1] == '\r') return line.ToString(0, line.Length - 1);
            line.Append((char)b);
        }
        return line.ToString();
    }

    /// <summary>True when the server closed the connection (a read returns end of stream) within the timeout.</summary>
    public bool IsClosedByServer(TimeSpan timeout) => ReadUntilClosed(timeout).Closed;

    /// <summary>
    /// Sends <paramref name="request"/> on a new connection and returns what <see cref="ReadUntilClosed"/> reads back.
    /// </summary>
    public static (string Received, bool Closed) ExchangeOnce(int port, byte[] request, TimeSpan quiet)
    {
        using var client = new RawClient(port);
        client.Send(request);
        return client.ReadUntilClosed(quiet);
    }

    /// <summary>
    /// Everything the server sends, one char per byte, until it closes the connection (Closed) or sends nothing for
    /// <paramref name="quiet"/>: to compare whole exchanges byte for byte.
    /// </summary>
    public (string Received, bool Closed) ReadUntilClosed(TimeSpan quiet)
    {
        _stream.ReadTimeout = (int)quiet.TotalMilliseconds;
        var received = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = _stream.Read(buffer);
                if (n == 0) return (received.ToString(), true);
                received.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
        {
            return (received.ToString(), false);
        }
        catch (IOException)
        {
            return (received.ToString(), true); // reset by peer
        }
    }

    /// <summary>
    /// Sends a one-line-reply request again every 100 ms until the reply is <paramref name="expected"/> or the time is
    /// up (for recovery after a fault); returns the last reply.
    /// </summary>
    public async Task<string> RepeatUntilAsync(string request, string expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string reply;
        while (true)
        {
            Send(request);
            reply = ReadLine();
            if (reply == expected || DateTime.UtcNow > deadline) return reply;
            await Task.Delay(100);
        }
    }

    /// <summary>Asserts the connection still serves: ECHO, then SET and GET of a fresh key, answered in order.</summary>
    public void AssertStillServes()
    {
        string value = Guid.NewGuid().ToString("N");
        Send(RespText.Command("ECHO", value));
        Assert.Equal($"${value.Length}", ReadLine());
        Assert.Equal(value, ReadLine());
        string key = "alive:" + value;
        Send(RespText.Command("SET", key, value) + RespText.Command("GET", key));
        Assert.Equal("+OK", ReadLine());
        Assert.Equal($"${value.Length}", ReadLine());
        Assert.Equal(value, ReadLine());
    }

    public Socket Socket => _client.Client;

    public void Dispose() => _client.Dispose();
}
