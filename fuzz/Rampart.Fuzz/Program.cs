using SharpFuzz;

namespace Rampart.Fuzz;

/// <summary>
/// <c>Rampart.Fuzz TARGET</c>: under afl-fuzz (scripts/fuzz), the fork server for one target.
/// <c>Rampart.Fuzz TARGET replay PATH...</c>: runs the target once on each file (or each file of each folder) and
/// prints what it threw, to reproduce a finding or to check a corpus without afl-fuzz.
/// </summary>
public static class Program
{
    private delegate void Target(ReadOnlySpan<byte> data);

    private static readonly Dictionary<string, Target> Targets = new(StringComparer.Ordinal)
    {
        ["request"] = RequestTarget.Run,
        ["reply"] = ReplyTarget.Run,
        ["config"] = ConfigTarget.Run,
    };

    public static int Main(string[] args)
    {
        if (args.Length == 0 || !Targets.TryGetValue(args[0], out var target))
        {
            Console.Error.WriteLine($"usage: Rampart.Fuzz {string.Join('|', Targets.Keys)} [replay PATH...]");
            return 2;
        }
        if (args.Length > 1)
            return args[1] == "replay" ? Replay(target, args[2..]) : 2;

        // Out of process: a stack overflow or an abort ends only the child that ran the input, and afl-fuzz records
        // it as a crash instead of losing its fork server.
        var buffer = new byte[1 << 20];
        Fuzzer.OutOfProcess.Run(stream =>
        {
            int length = 0, read;
            while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0) length += read;
            target(buffer.AsSpan(0, length));
        });
        return 0;
    }

    private static int Replay(Target target, string[] paths)
    {
        int failed = 0, total = 0;
        var files = paths.SelectMany<string, string>(p => System.IO.Directory.Exists(p)
            ? System.IO.Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            : [p]);
        foreach (var file in files)
        {
            total++;
            try
            {
                target(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failed++;
                Console.WriteLine($"{file}: {e}");
            }
        }
        Console.WriteLine($"replay: {total} inputs, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}
