using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// Feeds the same commands to a redis-server directly and to a Rampart pool, each on a connection of its own, and
/// compares every reply frame byte for byte. Commands are pipelined in batches (sent in one write, their replies read
/// in order), as a client library would. Frames are found with Rampart's own ReplyScanner through
/// <see cref="Resp3Client"/>, which reads both RESP2 and RESP3 and keeps the bytes as they are.
/// </summary>
public sealed class DifferentialRun : IDisposable
{
    private const int BatchSize = 64;
    private const int ReplyTimeoutMs = 10_000;

    private readonly Resp3Client _direct;
    private readonly Resp3Client _rampart;
    private bool _broken;

    private DifferentialRun(Resp3Client direct, Resp3Client rampart)
    {
        _direct = direct;
        _rampart = rampart;
    }

    /// <summary>
    /// Connects to both; with <paramref name="resp3"/> both say <c>HELLO 3</c> first, and the replies must match up to
    /// the client id (each server numbers its own clients), else the handshake is the first difference.
    /// </summary>
    public static DifferentialRun Open(int directPort, int rampartPort, bool resp3, List<Difference> differences)
    {
        var run = new DifferentialRun(Resp3Client.Connect(directPort), Resp3Client.Connect(rampartPort));
        if (resp3)
        {
            var hello = new CorpusCommand("(handshake)", 0, CorpusReader.Split("HELLO 3"));
            var (direct, rampart) = run.Exchange([hello], differences);
            if (direct.Count == 1 && rampart.Count == 1
                && Resp3Client.MaskId(Latin1(direct[0])) != Resp3Client.MaskId(Latin1(rampart[0])))
                differences.Add(new Difference(hello, direct[0], rampart[0], "compared with the client id masked"));
        }
        return run;
    }

    private static string Latin1(byte[] bytes) => System.Text.Encoding.Latin1.GetString(bytes);

    /// <summary>Runs <paramref name="commands"/> in batches and adds every differing reply to <paramref name="differences"/>.</summary>
    public void Run(IReadOnlyList<CorpusCommand> commands, List<Difference> differences)
    {
        for (int start = 0; start < commands.Count && !_broken; start += BatchSize)
        {
            var batch = commands.Skip(start).Take(BatchSize).ToArray();
            var (direct, rampart) = Exchange(batch, differences);
            int frame = 0;
            foreach (var command in batch)
            {
                for (int f = 0; f < command.Frames; f++, frame++)
                {
                    byte[]? d = frame < direct.Count ? direct[frame] : null;
                    byte[]? r = frame < rampart.Count ? rampart[frame] : null;
                    if (d is null || r is null) return; // a side stopped answering: already reported
                    if (!d.AsSpan().SequenceEqual(r)) differences.Add(new Difference(command, d, r));
                }
            }
        }
    }

    /// <summary>
    /// Sends the batch to both sides, then reads each command's frames from each. A side that stops answering (a
    /// timeout, a closed connection) ends the run: what it would answer next is unknown.
    /// </summary>
    private (List<byte[]> Direct, List<byte[]> Rampart) Exchange(CorpusCommand[] batch, List<Difference> differences)
    {
        byte[] bytes = batch.SelectMany(c => RespTestClient.Command(c.Args)).ToArray();
        _direct.SendRaw(bytes);
        _rampart.SendRaw(bytes);
        int frames = batch.Sum(c => c.Frames);
        var direct = ReadFrames(_direct, frames, "direct", batch, differences);
        var rampart = ReadFrames(_rampart, frames, "rampart", batch, differences);
        return (direct, rampart);
    }

    private List<byte[]> ReadFrames(Resp3Client client, int count, string side, CorpusCommand[] batch, List<Difference> differences)
    {
        var frames = new List<byte[]>(count);
        try
        {
            while (frames.Count < count) frames.Add(client.ReadFrame(ReplyTimeoutMs));
        }
        catch (Exception e) when (e is TimeoutException or IOException or System.Net.Sockets.SocketException)
        {
            _broken = true;
            var command = CommandOfFrame(batch, frames.Count);
            differences.Add(new Difference(command, null, null, $"the {side} side gave no reply ({e.Message}); the rest of this file was not run"));
        }
        return frames;
    }

    private static CorpusCommand CommandOfFrame(CorpusCommand[] batch, int frame)
    {
        foreach (var command in batch)
        {
            if (frame < command.Frames) return command;
            frame -= command.Frames;
        }
        return batch[^1];
    }

    public void Dispose()
    {
        _direct.Dispose();
        _rampart.Dispose();
    }
}
