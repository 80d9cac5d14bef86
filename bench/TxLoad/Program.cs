using StackExchange.Redis;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

// TxLoad PORT CLIENTS SECONDS [DEPTH]: CLIENTS connections to 127.0.0.1:PORT, each sending DEPTH transactions
// (MULTI, INCR tx:<client>, EXEC) per write and waiting for all their replies, for SECONDS. Every EXEC reply is
// checked: it must be the client's counter plus one, so a reply delivered to the wrong client or out of order fails
// the run. Prints one line: "<transactions> <seconds>"; exit 1 with the reason on any error.
// TxLoad PORT CLIENTS SECONDS library: the same transactions through StackExchange.Redis with its defaults, as its
// users write them: one ConnectionMultiplexer, CLIENTS concurrent callers each awaiting CreateTransaction /
// StringIncrementAsync / ExecuteAsync in a loop (the library pipelines the callers' transactions on its connection).
// Socket completions on the event thread, as Rampart runs them: the driver's own thread-pool hops would otherwise
// cost more CPU than the proxy it measures, on the same two cores. Read when the first socket is made.
Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: TxLoad PORT CLIENTS SECONDS [DEPTH]");
    return 2;
}
int port = int.Parse(args[0]);
int clients = int.Parse(args[1]);
double seconds = double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
bool library = args.Length > 3 && args[3] == "library";
int depth = args.Length > 3 && !library ? int.Parse(args[3]) : 1;
var run = $"{Environment.ProcessId}-{Stopwatch.GetTimestamp()}";
var clock = Stopwatch.StartNew();
var deadline = TimeSpan.FromSeconds(seconds);
try
{
    long[] counts;
    if (library)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}");
        var db = redis.GetDatabase();
        clock.Restart();
        counts = await Task.WhenAll(Enumerable.Range(0, clients).Select(i => RunLibraryCaller(db, $"tx:{run}:{i}")));
    }
    else
    {
        counts = await Task.WhenAll(Enumerable.Range(0, clients).Select(i => RunClient($"tx:{run}:{i}")));
    }
    Console.WriteLine($"{counts.Sum()} {clock.Elapsed.TotalSeconds:F3}");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"TxLoad: {e.Message}");
    return 1;
}

async Task<long> RunClient(string key)
{
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
    var one = Encoding.ASCII.GetBytes($"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n${key.Length}\r\n{key}\r\n*1\r\n$4\r\nEXEC\r\n");
    var request = new byte[one.Length * depth];
    for (int d = 0; d < depth; d++) one.CopyTo(request, d * one.Length);
    var buffer = new byte[64 * 1024];
    long done = 0;
    while (clock.Elapsed < deadline)
    {
        await socket.SendAsync(request, SocketFlags.None);
        int filled = 0, parsed = 0, seen = 0;
        while (seen < depth)
        {
            int read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
            if (read == 0) throw new IOException("connection closed");
            filled += read;
            while (seen < depth && TryParseOne(buffer.AsSpan(parsed, filled - parsed), out int used, out long value))
            {
                if (value != done + 1) throw new InvalidDataException($"{key}: EXEC returned {value}, expected {done + 1}");
                done++;
                seen++;
                parsed += used;
            }
        }
    }
    return done;
}

async Task<long> RunLibraryCaller(IDatabase db, string key)
{
    long done = 0;
    while (clock.Elapsed < deadline)
    {
        var transaction = db.CreateTransaction();
        var increment = transaction.StringIncrementAsync(key);
        if (!await transaction.ExecuteAsync()) throw new InvalidDataException($"{key}: transaction not committed");
        long value = await increment;
        if (value != done + 1) throw new InvalidDataException($"{key}: EXEC returned {value}, expected {done + 1}");
        done++;
    }
    return done;
}

// "+OK\r\n+QUEUED\r\n*1\r\n:N\r\n"; anything else (an error reply) is a failure.
static bool TryParseOne(ReadOnlySpan<byte> data, out int used, out long value)
{
    used = 0;
    value = 0;
    ReadOnlySpan<byte> head = "+OK\r\n+QUEUED\r\n*1\r\n:"u8;
    if (data.Length < head.Length) return false;
    if (!data.StartsWith(head)) throw new InvalidDataException($"unexpected reply: {Encoding.ASCII.GetString(data[..Math.Min(data.Length, 120)])}");
    int end = data[head.Length..].IndexOf("\r\n"u8);
    if (end < 0) return false;
    value = long.Parse(data.Slice(head.Length, end));
    used = head.Length + end + 2;
    return true;
}
