using System.Net.Sockets;
using System.Text;

namespace Rampart.Proxy.Tests.Protocol;

/// <summary>An error reply, kept as a value so tests can compare it with what Rampart would answer.</summary>
public sealed record RespError(string Message);

/// <summary>
/// A minimal synchronous RESP2 client for tests that talk to redis-server directly: replies become string, long,
/// RespError, null or object?[]. Enough for COMMAND and COMMAND GETKEYS, nothing more.
/// </summary>
public sealed class RespTestClient : IDisposable
{
    private readonly TcpClient _client;
    private readonly BufferedStream _stream;

    public RespTestClient(int port)
    {
        _client = new TcpClient("127.0.0.1", port);
        _stream = new BufferedStream(_client.GetStream());
    }

    public object? Call(params string[] args)
    {
        var sb = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        _stream.Write(Encoding.UTF8.GetBytes(sb.ToString()));
        _stream.Flush();
        return Read();
    }

    private object? Read()
    {
        string line = ReadLine();
        string rest = line[1..];
        switch (line[0])
        {
            case '+': return rest;
            case '-': return new RespError(rest);
            case ':': return long.Parse(rest);
            case '$':
                int n = int.Parse(rest);
                if (n < 0) return null;
                var data = new byte[n + 2];
                _stream.ReadExactly(data);
                return Encoding.UTF8.GetString(data, 0, n);
            case '*':
                int count = int.Parse(rest);
                if (count < 0) return null;
                var items = new object?[count];
                for (int i = 0; i < count; i++) items[i] = Read();
                return items;
            default: throw new InvalidDataException($"unexpected reply line '{line}'");
        }
    }

    private string ReadLine()
    {
        var sb = new StringBuilder();
        int b;
        while ((b = _stream.ReadByte()) != '\r')
        {
            if (b < 0) throw new EndOfStreamException();
            sb.Append((char)b);
        }
        _stream.ReadByte(); // '\n'
        return sb.ToString();
    }

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }
}
